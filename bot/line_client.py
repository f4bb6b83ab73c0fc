"""The one wrapper around the LINE SDK's Messaging API: timeouts, retry keys, error sorting."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    Message,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    RichMenuRequest,
)
from pydantic.v1 import ValidationError

from crm import media
from crm.customers import Profile
from crm.media import MediaContent
from crm.outbox import (
    ALREADY_ACCEPTED,
    BAD_REPLY_TOKEN,
    FAILED,
    RETRY,
    SENT,
    OutboundJob,
    SendOutcome,
)
from crm.rich_menus.image import MenuImage
from crm.settings import Settings

log = logging.getLogger(__name__)

PROFILE_NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Quota:
    """Messages LINE lets the channel send this month (None: no limit) and those used."""

    limit: int | None
    used: int

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)


@dataclass(frozen=True)
class ProfileOutcome:
    """A profile, LINE's 'no profile' (404), or a passing failure."""

    result: str
    profile: Profile | None = None
    message: str = ""


class LineClient:
    """One SDK client per process (its connection pool is thread-safe); every call has a timeout."""

    def __init__(
        self, access_token: str, host: str | None, timeout: tuple[float, float], pool_size=32
    ):
        configuration = Configuration(host=host, access_token=access_token)
        configuration.connection_pool_maxsize = pool_size  # one kept connection per sender
        configuration.retries = False  # retries are ours, with retry keys, not urllib3's
        self._client = ApiClient(configuration)
        self._api = MessagingApi(self._client)
        self._blob = MessagingApiBlob(self._client)
        self._timeout = timeout

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def send(self, job: OutboundJob) -> SendOutcome:
        """One attempt at a claimed message: reply with its token, or push with its retry key."""
        if job.reply_token:
            return self.reply(job.reply_token, job.messages)
        return self.push(job.to, job.messages, job.retry_key)

    def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> SendOutcome:
        """Answer with the free reply token (single use; no retry key allowed)."""
        return self._send(
            lambda models: self._api.reply_message_with_http_info(
                ReplyMessageRequest(reply_token=reply_token, messages=models),
                _request_timeout=self._timeout,
            ),
            messages,
        )

    def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> SendOutcome:
        """Push to one user; the retry key makes a repeat of this request harmless."""
        return self._send(
            lambda models: self._api.push_message_with_http_info(
                PushMessageRequest(to=to, messages=models),
                x_line_retry_key=retry_key,
                _request_timeout=self._timeout,
            ),
            messages,
        )

    def multicast(
        self, to: list[str], messages: list[dict[str, Any]], retry_key: str
    ) -> SendOutcome:
        """Send to up to 500 users in one request, with a retry key."""
        return self._send(
            lambda models: self._api.multicast_with_http_info(
                MulticastRequest(to=to, messages=models),
                x_line_retry_key=retry_key,
                _request_timeout=self._timeout,
            ),
            messages,
        )

    def _send(self, call, messages: list[dict[str, Any]]) -> SendOutcome:
        """Run a send call and sort what happened into sent / retry / failed."""
        try:
            models = [Message.from_dict(message) for message in messages]
            response = call(models)
        except ApiException as exc:
            return _outcome_from_api_error(exc)
        except urllib3.exceptions.HTTPError as exc:
            return SendOutcome(RETRY, None, f"network error: {type(exc).__name__}")
        except (ValidationError, ValueError, TypeError) as exc:
            return SendOutcome(FAILED, None, f"invalid message: {exc}"[:1000])
        return SendOutcome(SENT, response.status_code, "", _header(response.headers, "request"))

    def get_quota(self) -> Quota | None:
        """This month's message limit and use (LINE's quota and consumption); None if LINE
        could not say."""
        try:
            limit = self._api.get_message_quota(_request_timeout=self._timeout)
            used = self._api.get_message_quota_consumption(_request_timeout=self._timeout)
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            log.warning("LINE quota unavailable: %s", exc)
            return None
        return Quota(limit.value if limit.type == "limited" else None, used.total_usage)

    def get_profile(self, user_id: str) -> ProfileOutcome:
        """The user's LINE profile; 404 means blocked, no consent, or not a friend."""
        try:
            data = self._api.get_profile(user_id, _request_timeout=self._timeout)
        except ApiException as exc:
            if exc.status == 404:
                return ProfileOutcome(PROFILE_NOT_FOUND, message=_error_message(exc))
            return ProfileOutcome(RETRY, message=f"{exc.status}: {_error_message(exc)}")
        except urllib3.exceptions.HTTPError as exc:
            return ProfileOutcome(RETRY, message=f"network error: {type(exc).__name__}")
        profile = Profile(
            display_name=data.display_name,
            picture_url=data.picture_url,
            status_message=data.status_message,
            language=data.language,
        )
        return ProfileOutcome(SENT, profile)

    def get_content(self, message_id: str) -> MediaContent:
        """Media the user sent, fetched from LINE on demand (LINE deletes it after a while)."""
        try:
            response = self._blob.get_message_content_with_http_info(
                message_id, _request_timeout=self._timeout
            )
        except ApiException as exc:
            result = media.GONE if exc.status in (404, 410) else media.UNAVAILABLE
            return MediaContent(result, http_status=exc.status)
        except urllib3.exceptions.HTTPError:
            return MediaContent(media.UNAVAILABLE)
        if response.status_code == 202:
            return MediaContent(media.PREPARING, http_status=202)
        content_type = _header(response.headers, "content-type") or "application/octet-stream"
        return MediaContent(media.READY, bytes(response.data), content_type, 200)


_HEADER_NAMES = {
    "request": "x-line-request-id",
    "accepted": "x-line-accepted-request-id",
    "content-type": "content-type",
}


def _header(headers, name: str) -> str | None:
    """A response header, case-insensitively (the SDK gives a dict or an HTTPHeaderDict)."""
    if not headers:
        return None
    wanted = _HEADER_NAMES[name]
    for key, value in dict(headers).items():
        if key.lower() == wanted:
            return value
    return None


def _error_message(exc: ApiException) -> str:
    """LINE's error message with its details, from the JSON error body."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return str(exc.reason or exc.status)
    message = str(body.get("message") or exc.reason or exc.status)
    details = body.get("details") or []
    parts = [f"{d.get('property', '')}: {d.get('message', '')}".strip(": ") for d in details]
    return f"{message} ({'; '.join(parts)})" if parts else message


def _outcome_from_api_error(exc: ApiException) -> SendOutcome:
    """Sort LINE's HTTP error per its retry guidance."""
    message = _error_message(exc)
    if exc.status == 409:
        return SendOutcome(ALREADY_ACCEPTED, 409, message, _header(exc.headers, "accepted"))
    if exc.status == 400 and "reply token" in message.lower():
        return SendOutcome(BAD_REPLY_TOKEN, 400, message)
    if exc.status == 429 and "monthly limit" in message.lower():
        return SendOutcome(FAILED, 429, message)
    if exc.status in (0, 429) or exc.status >= 500:
        return SendOutcome(RETRY, exc.status, message)
    return SendOutcome(FAILED, exc.status, message)


# Rich menus (bot/rich_menu.py publishes and links them) ----------------------------------------


class LineRefused(Exception):
    """LINE said no, or could not be reached; the text is for staff."""

    def __init__(self, text: str, transient: bool):
        super().__init__(text)
        self.transient = transient


def _explained(exc: Exception) -> LineRefused:
    """LINE's error (status, message and details) as a sentence staff can act on."""
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return LineRefused(f"LINE could not be reached ({type(exc).__name__}). Try again.", True)
    if isinstance(exc, ValidationError | ValueError):
        return LineRefused(f"The menu was not sent: {exc}"[:1000], False)
    said = f"{exc.status}: {_line_message(exc)}"
    if exc.status == 429:
        return LineRefused(f"LINE is busy ({said}). Try again in a few minutes.", True)
    if exc.status >= 500:
        return LineRefused(f"LINE had an internal error ({said}). Try again.", True)
    return LineRefused(f"LINE refused it ({said})", False)


def _line_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return str(exc.reason or exc.status)
    details = [
        f"{d.get('property', '')}: {d.get('message', '')}".strip(": ")
        for d in body.get("details") or []
    ]
    message = str(body.get("message") or exc.reason or exc.status)
    return f"{message} ({'; '.join(details)})" if details else message


class RichMenuApi:
    """LINE's rich menu endpoints through the SDK (the picture goes to the data host)."""

    def __init__(self, settings: Settings):
        configuration = Configuration(
            host=settings.line_api_host, access_token=settings.line_channel_access_token
        )
        configuration.retries = False  # a failed publish is retried by staff or the next job run
        self._client = ApiClient(configuration)
        self._api = MessagingApi(self._client)
        self._blob = MessagingApiBlob(self._client)
        self._timeout = settings.line_timeout

    def __enter__(self) -> RichMenuApi:
        return self

    def __exit__(self, *_exc) -> None:
        self._client.close()

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, _request_timeout=self._timeout, **kwargs)
        except (ApiException, urllib3.exceptions.HTTPError, ValidationError, ValueError) as exc:
            raise _explained(exc) from exc

    def create(self, menu: dict) -> str:
        try:
            request = RichMenuRequest.from_dict(menu)
        except (ValidationError, ValueError) as exc:
            raise _explained(exc) from exc
        return self._call(self._api.create_rich_menu, request).rich_menu_id

    def upload(self, rich_menu_id: str, image: MenuImage) -> None:
        headers = {"Content-Type": image.content_type}
        self._call(self._blob.set_rich_menu_image, rich_menu_id, body=image.body, _headers=headers)

    def set_default(self, rich_menu_id: str) -> None:
        self._call(self._api.set_default_rich_menu, rich_menu_id)

    def link(self, rich_menu_id: str, user_ids: list[str]) -> None:
        request = RichMenuBulkLinkRequest(rich_menu_id=rich_menu_id, user_ids=user_ids)
        self._call(self._api.link_rich_menu_id_to_users, request)

    def unlink(self, user_ids: list[str]) -> None:
        request = RichMenuBulkUnlinkRequest(user_ids=user_ids)
        self._call(self._api.unlink_rich_menu_id_from_users, request)

    def delete(self, rich_menu_id: str) -> bool:
        """Delete a menu LINE no longer needs to show; a failure is only logged (it is unused)."""
        try:
            self._call(self._api.delete_rich_menu, rich_menu_id)
        except LineRefused as exc:
            log.warning("rich menu %s not deleted on LINE: %s", rich_menu_id, exc)
            return False
        return True
