#!/usr/bin/env python3
# Drives a running doppel server with Huawei Cloud's official MetaStudio SDK (huaweicloudsdkmetastudio +
# huaweicloudsdkcore), pointed at it only through the endpoint: create -> show -> list (with filters) -> cancel a
# second job -> wait for SUCCEED -> the asset library (HUMAN_MODEL_2D, VOICE_MODEL, the result video), then the
# refusals: a wrong secret, a stale X-Sdk-Date, another project, an unknown job, a bad parameter.
#
# Usage: metastudio_client.py PORT ACCESS_KEY_ID ACCESS_KEY_SECRET PROJECT_ID
#    or: DOPPEL_PORT=… DOPPEL_AK=… DOPPEL_SK=… DOPPEL_PROJECT_ID=… metastudio_client.py
# (PORT may also be a base URL such as http://127.0.0.1:8080). Prints one line per check; exits 1 with a message
# on the first failure. DOPPEL_SDK_TIMEOUT (seconds, default 300) bounds the wait for the render.

import datetime
import os
import sys
import time
import traceback

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ["no_proxy"] = os.environ["NO_PROXY"]

import requests  # noqa: E402  (the SDK's own HTTP library)
from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException  # noqa: E402
from huaweicloudsdkcore.sdk_request import SdkRequest  # noqa: E402
from huaweicloudsdkcore.signer.signer import Signer  # noqa: E402
from huaweicloudsdkmetastudio.v1 import MetaStudioClient  # noqa: E402
from huaweicloudsdkmetastudio.v1.model import (  # noqa: E402
    BackgroundConfigInfo,
    Cancel2DDigitalHumanVideoRequest,
    Create2DDigitalHumanVideoReq,
    Create2DDigitalHumanVideoRequest,
    ListAssetsRequest,
    ListDigitalHumanVideoRequest,
    OutputAssetConfig,
    ShootScript,
    ShootScriptItem,
    Show2DDigitalHumanVideoRequest,
    ShowAssetRequest,
    TextConfig,
    VideoConfig,
    VoiceConfig,
)


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print("ok:", what.split("\n")[0], flush=True)


def settings():
    args = sys.argv[1:]
    if len(args) not in (0, 4):
        raise Failure("usage: metastudio_client.py PORT ACCESS_KEY_ID ACCESS_KEY_SECRET PROJECT_ID")
    if args:
        port, ak, sk, project = args
    else:
        names = ["DOPPEL_PORT", "DOPPEL_AK", "DOPPEL_SK", "DOPPEL_PROJECT_ID"]
        missing = [n for n in names if not os.environ.get(n)]
        if missing:
            raise Failure("missing arguments and environment variables: " + ", ".join(missing))
        port, ak, sk, project = (os.environ[n] for n in names)
    endpoint = port if port.startswith("http") else "http://127.0.0.1:%s" % port
    return endpoint.rstrip("/"), ak, sk, project


def client(endpoint, ak, sk, project):
    creds = BasicCredentials(ak, sk, project)
    return MetaStudioClient.new_builder().with_credentials(creds).with_endpoint(endpoint).build()


def refused(call, status, code, needle=""):
    """Runs call(); it must raise ClientRequestException with this status and error_code (and needle in the
    message). Returns the exception."""
    try:
        call()
    except ClientRequestException as e:
        got = (e.status_code, e.error_code)
        if got != (status, code) or needle.lower() not in (e.error_msg or "").lower():
            raise Failure("expected %s %s (%r), got %s %s: %s" % (status, code, needle, *got, e.error_msg))
        if not e.request_id:
            raise Failure("the error carries no request id: %s" % e)
        return e
    raise Failure("expected a %s %s refusal, the call succeeded" % (status, code))


def script(text, name):
    return Create2DDigitalHumanVideoReq(
        model_asset_id="anna",
        voice_config=VoiceConfig(voice_asset_id="espeak-en-us-ava", speed=100, pitch=100, volume=140),
        video_config=VideoConfig(codec="H264", bitrate=1000, width=720, height=1280, frame_rate="25"),
        shoot_scripts=[
            ShootScriptItem(
                sequence_no=0,
                shoot_script=ShootScript(
                    script_type="TEXT",
                    text_config=TextConfig(text=text),
                    background_config=[
                        BackgroundConfigInfo(background_type="COLOR", background_color_config="#DDE6F0")
                    ],
                ),
            )
        ],
        output_asset_config=OutputAssetConfig(asset_name=name),
    )


def hand_signed_get(endpoint, ak, sk, project, sdk_date):
    """A GET of the job list signed by the SDK's own Signer with a chosen X-Sdk-Date."""
    host = endpoint.split("://", 1)[1]
    req = SdkRequest(
        method="GET",
        schema="http",
        host=host,
        resource_path="/v1/%s/digital-human-videos" % project,
        query_params=[("limit", 1)],
        header_params={"X-Sdk-Date": sdk_date, "Content-Type": "application/json", "X-Project-Id": project},
        body="",
    )
    req = Signer(BasicCredentials(ak, sk)).sign(req)
    return requests.get(endpoint + req.uri, headers=req.header_params, timeout=30)


def run():
    endpoint, ak, sk, project = settings()
    timeout = float(os.environ.get("DOPPEL_SDK_TIMEOUT", "300"))
    c = client(endpoint, ak, sk, project)

    # Create, then show at once.
    job = c.create2_d_digital_human_video(
        Create2DDigitalHumanVideoRequest(body=script("<speak>Hello, everyone. I am Anna.</speak>", "sdk-video"))
    ).job_id
    check(isinstance(job, str) and len(job) == 32, "create2_d_digital_human_video -> job_id %s" % job)
    shown = c.show2_d_digital_human_video(Show2DDigitalHumanVideoRequest(job_id=job))
    check(shown.job_id == job and shown.state in ("WAITING", "PROCESSING", "SUCCEED"), "show: state %s" % shown.state)
    check(shown.job_type == "2D_DIGITAL_HUMAN_VIDEO" and shown.create_time, "show: job_type and create_time")
    check(shown.model_asset_id is None, "show without show_script leaves the script out")
    check(bool(shown.x_request_id), "show: X-Request-Id %s" % shown.x_request_id)

    # A second job, canceled while it waits (or renders).
    long_text = "<speak>" + " ".join(["This sentence is here to keep the renderer busy for a while."] * 12) + "</speak>"
    job2 = c.create2_d_digital_human_video(Create2DDigitalHumanVideoRequest(body=script(long_text, "sdk-cancel"))).job_id
    canceled = c.cancel2_d_digital_human_video(Cancel2DDigitalHumanVideoRequest(job_id=job2))
    check(canceled.status_code == 200 and canceled.x_request_id, "cancel2_d_digital_human_video %s" % job2)
    state2 = c.show2_d_digital_human_video(Show2DDigitalHumanVideoRequest(job_id=job2)).state
    check(state2 == "CANCELED", "the canceled job shows CANCELED")
    refused(
        lambda: c.cancel2_d_digital_human_video(Cancel2DDigitalHumanVideoRequest(job_id=job2)),
        400,
        "MSS.00000003",
        "already CANCELED",
    )
    print("ok: canceling it again is refused", flush=True)

    # Listing with the SDK's filters.
    both = [job, job2]
    desc = c.list_digital_human_video(
        ListDigitalHumanVideoRequest(job_ids=both, job_type="2D_DIGITAL_HUMAN_VIDEO", sort_dir="desc", limit=10, offset=0)
    )
    asc = c.list_digital_human_video(ListDigitalHumanVideoRequest(job_ids=both, sort_key="create_time", sort_dir="asc"))
    ids_desc = [j.job_id for j in desc.jobs]
    check(desc.count == 2 and sorted(ids_desc) == sorted(both), "list job_ids=[both] -> count 2")
    check([j.job_id for j in asc.jobs] == ids_desc[::-1], "sort_dir asc is the reverse of desc")
    only = c.list_digital_human_video(ListDigitalHumanVideoRequest(job_ids=both, state="CANCELED"))
    check(only.count == 1 and only.jobs[0].job_id == job2, "list state=CANCELED -> the canceled job")
    named = c.list_digital_human_video(ListDigitalHumanVideoRequest(asset_name="sdk-video"))
    check(job in [j.job_id for j in named.jobs], "list asset_name=sdk-video -> the first job")
    page = c.list_digital_human_video(ListDigitalHumanVideoRequest(job_ids=both, limit=1, offset=1))
    check(page.count == 2 and len(page.jobs) == 1 and page.jobs[0].job_id == ids_desc[::-1][1], "limit=1 offset=1")
    one = c.list_digital_human_video(ListDigitalHumanVideoRequest(job_id=job))
    check(one.count == 1 and one.jobs[0].state in ("WAITING", "PROCESSING", "SUCCEED"), "list job_id=<first>")
    refused(
        lambda: c.list_digital_human_video(ListDigitalHumanVideoRequest(state="CREATING")), 400, "MSS.00000003", "state"
    )
    print("ok: an unknown state is refused naming the field", flush=True)

    # The first job finishes.
    deadline = time.time() + timeout
    while True:
        shown = c.show2_d_digital_human_video(Show2DDigitalHumanVideoRequest(job_id=job, show_script=True))
        if shown.state not in ("WAITING", "PROCESSING"):
            break
        if time.time() > deadline:
            raise Failure("job %s still %s after %ss" % (job, shown.state, timeout))
        time.sleep(0.5)
    check(shown.state == "SUCCEED", "the job ends SUCCEED (error_info: %s)" % shown.error_info)
    check(shown.duration and shown.duration > 0.5 and shown.start_time and shown.end_time, "duration %s" % shown.duration)
    out = shown.output_asset_config
    check(out and out.asset_id and out.asset_name == "sdk-video", "output_asset_config %s" % out)
    video = requests.get(out.preview_video_url, timeout=60)
    check(video.status_code == 200 and b"ftyp" in video.content[:16], "preview_video_url serves the MP4")
    check(
        shown.model_asset_id == "anna"
        and shown.voice_config.voice_asset_id == "espeak-en-us-ava"
        and shown.video_config.width == 720
        and shown.shoot_scripts[0].shoot_script.text_config.text.startswith("<speak>Hello"),
        "show_script=true returns the script",
    )

    # The asset library.
    humans = c.list_assets(ListAssetsRequest(asset_type="HUMAN_MODEL_2D", asset_source="ALL", limit=100))
    by_id = {a.asset_id: a for a in humans.assets}
    check(humans.count >= 2 and {"anna", "leo"} <= set(by_id), "list_assets HUMAN_MODEL_2D -> %s" % sorted(by_id))
    anna = by_id["anna"]
    meta = anna.asset_extra_meta.human_model_2d_meta
    check(anna.asset_state == "ACTIVED" and meta is not None and meta.action_tag_map, "anna has an action tag map")
    check(any(f.asset_file_category == "COVER" and f.download_url for f in anna.files), "anna has a cover file")
    voices = c.list_assets(ListAssetsRequest(asset_type="VOICE_MODEL", asset_source="SYSTEM", limit=100))
    vby_id = {a.asset_id: a for a in voices.assets}
    check("espeak-en-us-ava" in vby_id and voices.count == len(vby_id), "list_assets VOICE_MODEL -> %d voices" % voices.count)
    ava = vby_id["espeak-en-us-ava"].asset_extra_meta.voice_model_meta
    check(ava.sex == "FEMALE" and ava.language == "EN", "the voice's sex and language")
    female = c.list_assets(ListAssetsRequest(asset_type="VOICE_MODEL", asset_source="SYSTEM", sex="FEMALE"))
    check(all(a.asset_extra_meta.voice_model_meta.sex == "FEMALE" for a in female.assets), "sex=FEMALE filters")
    own = c.list_assets(ListAssetsRequest(asset_type="HUMAN_MODEL_2D"))
    check(own.count == 0, "without asset_source only the project's own avatars are listed (none)")
    videos = c.list_assets(ListAssetsRequest(asset_type="VIDEO", asset_id=[out.asset_id]))
    check(videos.count == 1 and videos.assets[0].asset_name.startswith("sdk-video"), "the result video is a VIDEO asset")
    shown_asset = c.show_asset(ShowAssetRequest(asset_id="anna"))
    check(shown_asset.asset_type == "HUMAN_MODEL_2D" and shown_asset.asset_id == "anna", "show_asset anna")
    refused(lambda: c.show_asset(ShowAssetRequest(asset_id="nobody")), 404, "MSS.00000002", "nobody")
    print("ok: an unknown asset is 404", flush=True)
    refused(lambda: c.list_assets(ListAssetsRequest(asset_type="AVATAR")), 400, "MSS.00000003", "asset_type")
    print("ok: an unknown asset_type is refused naming the field", flush=True)

    # Refusals.
    bad = script("<speak>Hi.</speak>", "bad")
    bad.voice_config.speed = 300
    refused(
        lambda: c.create2_d_digital_human_video(Create2DDigitalHumanVideoRequest(body=bad)),
        400,
        "MSS.00000003",
        "voice_config.speed",
    )
    print("ok: a bad parameter is refused naming the field", flush=True)
    refused(lambda: c.show2_d_digital_human_video(Show2DDigitalHumanVideoRequest(job_id="0" * 32)), 404, "MSS.00000002")
    print("ok: an unknown job is 404", flush=True)
    wrong = client(endpoint, ak, sk + "x", project)
    refused(lambda: wrong.show2_d_digital_human_video(Show2DDigitalHumanVideoRequest(job_id=job)), 401, "MSS.00000001", "signature")
    print("ok: a wrong secret key is refused", flush=True)
    unknown = client(endpoint, "NOSUCHKEY", sk, project)
    refused(lambda: unknown.list_digital_human_video(ListDigitalHumanVideoRequest()), 401, "MSS.00000001", "access key")
    print("ok: an unknown access key is refused", flush=True)
    other = client(endpoint, ak, sk, "f" * 32)
    refused(lambda: other.list_digital_human_video(ListDigitalHumanVideoRequest()), 403, "MSS.00010009")
    print("ok: another project's path is refused", flush=True)

    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = "%Y%m%dT%H%M%SZ"
    fresh = hand_signed_get(endpoint, ak, sk, project, now.strftime(fmt))
    check(fresh.status_code == 200 and "jobs" in fresh.json(), "a hand-signed request with a fresh X-Sdk-Date passes")
    stale = hand_signed_get(endpoint, ak, sk, project, (now - datetime.timedelta(minutes=20)).strftime(fmt))
    body = stale.json()
    check(
        stale.status_code == 401 and body.get("error_code") == "MSS.00000001" and "expired" in body.get("error_msg", ""),
        "an X-Sdk-Date 20 minutes old is refused: %s %s" % (stale.status_code, body),
    )
    check(stale.headers.get("X-Request-Id") == body.get("request_id"), "the refusal carries its request id")
    print("PASS: the MetaStudio SDK works against doppel", flush=True)


def main():
    try:
        run()
    except Failure as e:
        print("FAIL:", e, file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception:  # an SDK error nobody expected: show it whole
        traceback.print_exc()
        print("FAIL: unexpected error", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
