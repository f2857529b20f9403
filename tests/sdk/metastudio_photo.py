#!/usr/bin/env python3
# Drives a running doppel server's photo digital humans with Huawei Cloud's official MetaStudio SDK: photo
# detection of a good photo (SUCCEED) and of a picture without a face (FAILED, NO_FACE), a photo digital human
# video of the good photo (create -> show until SUCCEED, job_type PHOTO_DIGITAL_HUMAN_VIDEO -> the list filtered
# by job_type, a second one canceled), and the refusals: a photo without a face, two shoot scripts, a VP8 codec.
#
# Usage: metastudio_photo.py PORT ACCESS_KEY_ID ACCESS_KEY_SECRET PROJECT_ID PHOTO.png NO_FACE.png
# Prints one line per check; exits 1 with a message on the first failure. DOPPEL_SDK_TIMEOUT (seconds, default
# 300) bounds the wait for the render.

import base64
import os
import sys
import time

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ["no_proxy"] = os.environ["NO_PROXY"]

from metastudio_client import Failure, check, client, refused  # noqa: E402  (the shared helpers, same folder)
from huaweicloudsdkmetastudio.v1.model import (  # noqa: E402
    CancelPhotoDigitalHumanVideoRequest,
    CreatePhotoDetectionReq,
    CreatePhotoDetectionRequest,
    CreatePhotoDigitalHumanVideoReq,
    CreatePhotoDigitalHumanVideoRequest,
    ListDigitalHumanVideoRequest,
    OutputAssetConfig,
    PhotoVideoConfig,
    ShootScript,
    ShootScriptItem,
    ShowPhotoDetectionRequest,
    ShowPhotoDigitalHumanVideoRequest,
    TextConfig,
    VoiceConfig,
)


def b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def shoot(text):
    return ShootScriptItem(sequence_no=0, shoot_script=ShootScript(script_type="TEXT", text_config=TextConfig(text=text)))


def main():
    port, ak, sk, project, photo, no_face = sys.argv[1:7]
    endpoint = port if port.startswith("http") else "http://127.0.0.1:%s" % port
    c = client(endpoint, ak, sk, project)
    timeout = float(os.environ.get("DOPPEL_SDK_TIMEOUT", "300"))

    # Photo detection.
    good = c.create_photo_detection(CreatePhotoDetectionRequest(body=CreatePhotoDetectionReq(human_image=b64(photo))))
    check(bool(good.job_id), "photo detection of the astronaut answers a job id")
    shown = c.show_photo_detection(ShowPhotoDetectionRequest(job_id=good.job_id))
    check(shown.state == "SUCCEED" and shown.job_id == good.job_id, "the astronaut passes (%s)" % shown.state)
    bad = c.create_photo_detection(CreatePhotoDetectionRequest(body=CreatePhotoDetectionReq(human_image=b64(no_face))))
    shown = c.show_photo_detection(ShowPhotoDetectionRequest(job_id=bad.job_id))
    check(
        shown.state == "FAILED" and "NO_FACE" in shown.error_info.error_msg,
        "a picture without a face fails with NO_FACE (%s: %s)" % (shown.state, shown.error_info),
    )

    # A photo video.
    req = CreatePhotoDigitalHumanVideoReq(
        human_image=b64(photo),
        voice_config=VoiceConfig(voice_asset_id="espeak-en-us-ava", speed=100),
        video_config=PhotoVideoConfig(codec="H264", bitrate=2000, frame_rate="25"),
        shoot_scripts=[shoot("Hello from orbit. This is a photo digital human.")],
        output_asset_config=OutputAssetConfig(asset_name="astronaut hello"),
    )
    job = c.create_photo_digital_human_video(CreatePhotoDigitalHumanVideoRequest(body=req)).job_id
    check(bool(job), "create_photo_digital_human_video answers a job id")
    deadline = time.time() + timeout
    while True:
        s = c.show_photo_digital_human_video(ShowPhotoDigitalHumanVideoRequest(job_id=job))
        if s.state in ("SUCCEED", "FAILED", "CANCELED") or time.time() > deadline:
            break
        time.sleep(1)
    check(s.state == "SUCCEED", "the photo video renders (%s %s)" % (s.state, s.error_info))
    check(s.job_type == "PHOTO_DIGITAL_HUMAN_VIDEO", "its job_type is PHOTO_DIGITAL_HUMAN_VIDEO")
    check(s.output_asset_config and s.output_asset_config.asset_id, "it has an output asset")
    listed = c.list_digital_human_video(ListDigitalHumanVideoRequest(job_type="PHOTO_DIGITAL_HUMAN_VIDEO"))
    check(any(j.job_id == job for j in listed.jobs), "the list filtered by job_type shows it")
    check(all(j.job_type == "PHOTO_DIGITAL_HUMAN_VIDEO" for j in listed.jobs), "and only photo jobs")

    # Cancel a second one while it waits or renders.
    second = c.create_photo_digital_human_video(CreatePhotoDigitalHumanVideoRequest(body=req)).job_id
    c.cancel_photo_digital_human_video(CancelPhotoDigitalHumanVideoRequest(job_id=second))
    s = c.show_photo_digital_human_video(ShowPhotoDigitalHumanVideoRequest(job_id=second))
    check(s.state == "CANCELED", "cancel_photo_digital_human_video cancels it (%s)" % s.state)

    # Refusals.
    req.human_image = b64(no_face)
    e = refused(lambda: c.create_photo_digital_human_video(CreatePhotoDigitalHumanVideoRequest(body=req)),
                400, "MSS.00000003", "human_image")
    check("NO_FACE" in e.error_msg, "a photo without a face is refused naming human_image: " + e.error_msg)
    req.human_image = b64(photo)
    req.shoot_scripts = [shoot("one"), shoot("two")]
    refused(lambda: c.create_photo_digital_human_video(CreatePhotoDigitalHumanVideoRequest(body=req)),
            400, "MSS.00000003", "exactly one")
    check(True, "two shoot scripts are refused")
    req.shoot_scripts = [shoot("one")]
    req.video_config = PhotoVideoConfig(codec="VP8")
    refused(lambda: c.create_photo_digital_human_video(CreatePhotoDigitalHumanVideoRequest(body=req)),
            400, "MSS.00000003", "video_config.codec")
    check(True, "a VP8 codec is refused")
    print("PASS: photo digital humans through the MetaStudio SDK", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Failure as f:
        print("FAIL:", f, flush=True)
        sys.exit(1)
