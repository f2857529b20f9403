#!/usr/bin/env python3
# Drives a running doppel server with Alibaba Cloud's official ICE SDK (alibabacloud-ice20201109 on
# alibabacloud-tea-openapi), pointed at it only through Config(endpoint="127.0.0.1:PORT", protocol="http"); once
# with the SDK's default signature (ACS3-HMAC-SHA256) and once with signature_algorithm="v2" (RPC HMAC-SHA1):
# GetAvatar (anna) -> ListAvatars (paging) -> ListSmartVoiceGroups -> SubmitAvatarVideoJob (text) -> poll
# GetSmartHandleJob until Finished -> download JobResult.MediaUrl; then the refusals: an unknown avatar, an
# audio input, a wrong secret, a stale timestamp and a replayed nonce (raw requests signed with the SDK's own
# signer), under both schemes.
#
# Usage: ice_client.py PORT ACCESS_KEY_ID ACCESS_KEY_SECRET
#    or: DOPPEL_PORT=... DOPPEL_AK=... DOPPEL_SK=... ice_client.py
# (PORT may also be host:port or a base URL such as http://127.0.0.1:8080). Prints one line per check and, last,
# one line "ICE_JOBS <job id> <job id>" naming the jobs it submitted; exits 1 with a message on the first
# failure. DOPPEL_SDK_TIMEOUT (seconds, default 180) bounds the wait for each render.

import datetime
import hashlib
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ["no_proxy"] = os.environ["NO_PROXY"]

from alibabacloud_ice20201109 import models  # noqa: E402
from alibabacloud_ice20201109.client import Client  # noqa: E402
from alibabacloud_tea_openapi.exceptions import ClientException  # noqa: E402
from alibabacloud_tea_openapi.utils import Utils  # noqa: E402
from alibabacloud_tea_openapi.utils_models import Config  # noqa: E402

VERSION = "2020-11-09"
TEXT = "Hello from doppel, speaking through the official Alibaba Cloud SDK."


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print(f"ok   {what}", flush=True)


def args():
    argv = sys.argv[1:]
    port = argv[0] if len(argv) > 0 else os.environ.get("DOPPEL_PORT")
    ak = argv[1] if len(argv) > 1 else os.environ.get("DOPPEL_AK")
    sk = argv[2] if len(argv) > 2 else os.environ.get("DOPPEL_SK")
    if not (port and ak and sk):
        sys.exit("usage: ice_client.py PORT ACCESS_KEY_ID ACCESS_KEY_SECRET (or DOPPEL_PORT, DOPPEL_AK, DOPPEL_SK)")
    host = urllib.parse.urlsplit(port).netloc if "://" in port else (port if ":" in port else f"127.0.0.1:{port}")
    return host, ak, sk


def client(host, ak, sk, algorithm=None):
    cfg = Config(access_key_id=ak, access_key_secret=sk, endpoint=host, protocol="http", region_id="cn-shanghai")
    if algorithm:
        cfg.signature_algorithm = algorithm
    return Client(cfg)


def refused(call, status, code, what):
    """Runs `call`, which must raise the SDK's ClientException with `status` and `code`."""
    try:
        call()
    except ClientException as e:
        check(e.status_code == status and e.code == code, f"{what}: {status} {code} (got {e.status_code} {e.code}: {e.message})")
        return e
    raise Failure(f"{what}: the call succeeded; expected {status} {code}")


def download(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read()


def happy_path(c, label, timeout):
    """The calls a migrating user makes; returns the id of the job it submitted."""
    body = c.get_avatar(models.GetAvatarRequest(avatar_id="anna")).body
    a = body.data.avatar
    check(body.success is True and bool(body.request_id), f"[{label}] GetAvatar: Success and RequestId")
    check(a.avatar_id == "anna" and a.avatar_name == "Anna" and a.avatar_type == "2DAvatar", f"[{label}] GetAvatar: id, name, type")
    check(isinstance(a.avatar_description, str) and a.avatar_description != "", f"[{label}] GetAvatar: description")
    check((a.width, a.height) == (1080, 1920) and a.transparent is True, f"[{label}] GetAvatar: 1080x1920, transparent")
    check(a.thumbnail.startswith("http://") and "/files/" in a.thumbnail, f"[{label}] GetAvatar: Thumbnail is a signed URL")
    check(isinstance(a.portrait, str) and a.portrait != "", f"[{label}] GetAvatar: Portrait")
    keys = set(body.to_map()["Data"]["Avatar"])
    want = {"AvatarId", "AvatarName", "AvatarDescription", "AvatarType", "Thumbnail", "Portrait", "Transparent", "Width", "Height"}
    check(keys == want, f"[{label}] GetAvatar: exactly seed 001's fields ({sorted(keys)})")

    page1 = c.list_avatars(models.ListAvatarsRequest(avatar_type="2DAvatar", page_no=1, page_size=1)).body
    page2 = c.list_avatars(models.ListAvatarsRequest(avatar_type="2DAvatar", page_no=2, page_size=1)).body
    check(page1.success is True and page1.data.total_count >= 2, f"[{label}] ListAvatars: TotalCount {page1.data.total_count}")
    check(len(page1.data.avatar_list) == 1 and len(page2.data.avatar_list) == 1, f"[{label}] ListAvatars: PageSize 1")
    ids = [page1.data.avatar_list[0].avatar_id, page2.data.avatar_list[0].avatar_id]
    check(ids[0] != ids[1] and "anna" in ids, f"[{label}] ListAvatars: pages differ ({ids})")
    everything = c.list_avatars(models.ListAvatarsRequest()).body
    check(len(everything.data.avatar_list) == everything.data.total_count, f"[{label}] ListAvatars: default page holds all")

    groups = c.list_smart_voice_groups(models.ListSmartVoiceGroupsRequest()).body
    voices = [v for g in groups.voice_groups for v in g.voice_list]
    check(len(groups.voice_groups) >= 2 and all(g.type for g in groups.voice_groups), f"[{label}] ListSmartVoiceGroups: groups")
    ava = [v for v in voices if v.voice == "espeak-en-us-ava"]
    check(len(ava) == 1 and ava[0].name == "Ava" and ava[0].voice_type == "Female", f"[{label}] ListSmartVoiceGroups: voice Ava")
    check(ava[0].voice_url.startswith("http://"), f"[{label}] ListSmartVoiceGroups: VoiceUrl")

    submitted = c.submit_avatar_video_job(
        models.SubmitAvatarVideoJobRequest(
            title=f"sdk {label}",
            description="doppel SDK test",
            input_config=json.dumps({"Text": TEXT}),
            editing_config=json.dumps({"AvatarId": "anna", "Voice": "espeak-en-us-ava", "SpeechRate": 100}),
            output_config=json.dumps({"MediaURL": "https://bucket.oss-cn-shanghai.aliyuncs.com/doppel/out.mp4", "Width": 720, "Height": 1280}),
            user_data=json.dumps({"label": label}),
        )
    ).body
    job_id = submitted.job_id
    check(bool(job_id) and bool(submitted.request_id), f"[{label}] SubmitAvatarVideoJob: JobId {job_id}")

    deadline = time.time() + timeout
    seen = []
    while True:
        job = c.get_smart_handle_job(models.GetSmartHandleJobRequest(job_id=job_id)).body
        if not seen or seen[-1] != job.state:
            seen.append(job.state)
        if job.state in ("Finished", "Failed") or time.time() > deadline:
            break
        time.sleep(0.5)
    check(set(seen) <= {"Created", "Executing", "Finished"}, f"[{label}] GetSmartHandleJob: states {seen}")
    check(job.state == "Finished", f"[{label}] GetSmartHandleJob: Finished within {timeout} s ({job.error_code} {job.error_message})")
    check(job.job_id == job_id and job.user_data == json.dumps({"label": label}), f"[{label}] GetSmartHandleJob: JobId, UserData")
    info = job.smart_job_info
    check(info.title == f"sdk {label}" and info.output_config.bucket == "bucket", f"[{label}] GetSmartHandleJob: SmartJobInfo")
    check(bool(job.job_result.media_id) and job.job_result.media_url.startswith("http://"), f"[{label}] GetSmartHandleJob: JobResult")
    status, ctype, data = download(job.job_result.media_url)
    check(status == 200 and ctype == "video/mp4" and data[4:8] == b"ftyp" and len(data) > 10_000, f"[{label}] MediaUrl: an MP4 of {len(data)} bytes")

    refused(lambda: c.get_avatar(models.GetAvatarRequest(avatar_id="nobody")), 404, "InvalidAvatarId.NotFound", f"[{label}] unknown avatar")
    refused(lambda: c.get_smart_handle_job(models.GetSmartHandleJobRequest(job_id="0" * 32)), 404, "InvalidJobId.NotFound", f"[{label}] unknown job")
    e = refused(
        lambda: c.submit_avatar_video_job(
            models.SubmitAvatarVideoJobRequest(
                input_config=json.dumps({"InputFile": "0123456789abcdef0123456789abcdef"}),
                editing_config=json.dumps({"AvatarId": "anna"}),
            )
        ),
        400,
        "InvalidParameter",
        f"[{label}] audio input with an unknown media id",
    )
    check(
        "InputConfig.InputFile" in e.message and "does not exist" in e.message,
        f"[{label}] audio input: the message names InputConfig.InputFile ({e.message})",
    )
    return job_id


def utc(delta_seconds=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def raw_rpc(host, ak, sk, nonce, delta_seconds=0):
    """A GetAvatar signed with the SDK's RPC signer, as do_rpcrequest sends it; returns (status, JSON body)."""
    query = {
        "Action": "GetAvatar",
        "Format": "json",
        "Version": VERSION,
        "Timestamp": utc(delta_seconds),
        "SignatureNonce": nonce,
        "AvatarId": "anna",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": ak,
    }
    query["Signature"] = Utils.get_rpcsignature(query, "POST", sk)
    url = f"http://{host}/?{urllib.parse.urlencode(query)}"
    return send(urllib.request.Request(url, data=b"", method="POST"))


class _Signable:
    pass


def raw_acs3(host, ak, sk, nonce, delta_seconds=0):
    """A GetAvatar signed with the SDK's ACS3 signer, as do_request sends it; returns (status, JSON body)."""
    r = _Signable()
    r.pathname, r.method, r.query = "/", "POST", {"AvatarId": "anna"}
    payload = hashlib.sha256(b"").hexdigest()
    r.headers = {
        "host": host,
        "x-acs-version": VERSION,
        "x-acs-action": "GetAvatar",
        "x-acs-date": utc(delta_seconds),
        "x-acs-signature-nonce": nonce,
        "accept": "application/json",
        "x-acs-content-sha256": payload,
    }
    r.headers["Authorization"] = Utils.get_authorization(r, "ACS3-HMAC-SHA256", payload, ak, sk)
    url = f"http://{host}/?{urllib.parse.urlencode(r.query)}"
    return send(urllib.request.Request(url, data=b"", headers=r.headers, method="POST"))


def send(req):
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def refusals(host, ak, sk):
    for label, algorithm in (("ACS3-HMAC-SHA256", None), ("v2", "v2")):
        wrong = client(host, ak, sk + "x", algorithm)
        refused(lambda: wrong.get_avatar(models.GetAvatarRequest(avatar_id="anna")), 403, "SignatureDoesNotMatch", f"[{label}] wrong secret")
        unknown = client(host, "NOSUCHACCESSKEY", sk, algorithm)
        refused(lambda: unknown.list_avatars(models.ListAvatarsRequest()), 403, "InvalidAccessKeyId.NotFound", f"[{label}] unknown access key")

    for label, raw in (("ACS3-HMAC-SHA256", raw_acs3), ("v2", raw_rpc)):
        nonce = os.urandom(16).hex()
        status, body = raw(host, ak, sk, nonce)
        check(status == 200 and body["Data"]["Avatar"]["AvatarId"] == "anna", f"[{label}] raw signed request accepted")
        status, body = raw(host, ak, sk, nonce)
        check((status, body.get("Code")) == (403, "SignatureNonceUsed"), f"[{label}] replayed nonce refused ({status} {body})")
        status, body = raw(host, ak, sk, os.urandom(16).hex(), delta_seconds=-20 * 60)
        check((status, body.get("Code")) == (403, "InvalidTimeStamp.Expired"), f"[{label}] 20-minute-old timestamp refused ({status} {body.get('Code')})")
        status, body = raw(host, ak, sk, os.urandom(16).hex(), delta_seconds=20 * 60)
        check((status, body.get("Code")) == (403, "InvalidTimeStamp.Expired"), f"[{label}] timestamp 20 minutes ahead refused")
        check(set(body) == {"Code", "Message", "RequestId"} and body["RequestId"], f"[{label}] error body is {{Code, Message, RequestId}}")


def main():
    host, ak, sk = args()
    timeout = float(os.environ.get("DOPPEL_SDK_TIMEOUT", "180"))
    jobs = []
    try:
        for label, algorithm in (("ACS3-HMAC-SHA256", None), ("v2", "v2")):
            jobs.append(happy_path(client(host, ak, sk, algorithm), label, timeout))
        refusals(host, ak, sk)
    except Failure as e:
        sys.exit(f"FAIL {e}")
    except Exception:
        traceback.print_exc()
        sys.exit("FAIL unexpected error (traceback above)")
    print("ICE_JOBS " + " ".join(jobs), flush=True)
    print("all ICE SDK checks passed", flush=True)


if __name__ == "__main__":
    main()
