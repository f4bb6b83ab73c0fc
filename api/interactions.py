"""/api/v1/interactions: what a customer sent, including media fetched from LINE."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, redirect

from api.schemas import Error
from api.spec import BINARY, operation
from crm import media
from request_scope import request_session, services

bp = Blueprint("interactions", __name__, url_prefix="/interactions")

MEDIA_ANSWERS = {
    media.PREPARING: (202, "preparing", "LINE is still preparing this media; try again shortly"),
    media.GONE: (410, "gone", "LINE no longer has this media (expired or unsent)"),
    media.UNAVAILABLE: (502, "line_unavailable", "LINE did not answer; try again later"),
}


@operation(
    bp,
    "/<id:interaction_id>/content",
    "Media a customer sent (photo, video, audio, file), from LINE",
    {
        200: (BINARY, "the media bytes with LINE's content type"),
        202: (Error, "LINE is still preparing the media (Retry-After)"),
        302: (None, "media hosted elsewhere (external provider)"),
        404: (Error, "no such media interaction"),
        410: (Error, "LINE no longer has it, or it was unsent"),
        502: (Error, "LINE did not answer"),
    },
)
def content(interaction_id: int):
    """The photo, video, audio or file a customer sent, fetched from LINE on demand."""
    item = media.find_media(request_session(), interaction_id)
    if item is None:
        abort(404)
    found = media.fetch_media(item, services().line)
    if found.result == media.READY:
        headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        return Response(found.body, content_type=found.content_type, headers=headers)
    if found.result == media.ELSEWHERE:
        return redirect(found.url)
    status, error, message = MEDIA_ANSWERS[found.result]
    headers = {"Retry-After": "5"} if status == 202 else {}
    return jsonify({"error": error, "message": message}), status, headers
