"""The rich menu endpoints, answering like LINE: menus, images (on the data host, which the
sandbox serves on its one port), the default menu, per-user links and aliases.
https://developers.line.biz/en/reference/messaging-api/#rich-menu"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox.api import USER_ID, Refused, endpoint, json_body, line_error, refuse_if, state
from sandbox.rich_menu_rules import (
    ALIAS_ID,
    IMAGE_TYPES,
    MAX_IMAGE_BYTES,
    check_rich_menu,
    image_size,
)
from sandbox.rich_menus import Image, RichMenus
from sandbox.validation import Problem, error_body

bp = Blueprint("line_rich_menu", __name__)

MENU_FIELDS = ("size", "selected", "name", "chatBarText", "areas")
MAX_BULK_USERS = 500
NOT_FOUND = "Not found"
NO_IMAGE = "must upload richmenu image before applying it to user"


def rich_menus() -> RichMenus:
    return state().rich_menus


def ok(status: int = 200) -> Response:
    response = jsonify({})
    response.status_code = status
    return response


def invalid(problems: list[Problem]) -> Response:
    return line_error(400, **error_body(problems))


def _posted_json() -> dict:
    """The request's JSON object, or LINE's 400 for a body that is not one."""
    body, error = json_body()
    refuse_if(error)
    return body


def _checked_menu() -> dict:
    """The posted rich menu object with the fields LINE keeps, or LINE's 400."""
    body = _posted_json()
    problems = check_rich_menu(body)
    if problems:
        raise Refused(invalid(problems))
    return {key: body[key] for key in MENU_FIELDS}


def _appliable(rich_menu_id: str) -> Response | None:
    """LINE's refusal to show a menu that does not exist or has no image yet, if it is one."""
    if rich_menus().get(rich_menu_id) is None:
        return line_error(404, NOT_FOUND)
    if not rich_menus().has_image(rich_menu_id):
        return line_error(400, NO_IMAGE)
    return None


# Menus ----------------------------------------------------------------------------------


@bp.post("/v2/bot/richmenu")
@endpoint("richmenu", limit_as="richmenu_create")
def create_rich_menu():
    menu = _checked_menu()
    rich_menu_id = rich_menus().create(menu)
    if rich_menu_id is None:
        return line_error(400, "The maximum number of rich menus has been reached")
    return jsonify({"richMenuId": rich_menu_id})


@bp.post("/v2/bot/richmenu/validate")
@endpoint("richmenu")
def validate_rich_menu():
    _checked_menu()
    return ok()


@bp.get("/v2/bot/richmenu/list")
@endpoint("richmenu")
def list_rich_menus():
    return jsonify({"richmenus": rich_menus().all()})


@bp.get("/v2/bot/richmenu/<rich_menu_id>")
@endpoint("richmenu")
def get_rich_menu(rich_menu_id: str):
    menu = rich_menus().get(rich_menu_id)
    return jsonify(menu) if menu else line_error(404, NOT_FOUND)


@bp.delete("/v2/bot/richmenu/<rich_menu_id>")
@endpoint("richmenu", limit_as="richmenu_delete")
def delete_rich_menu(rich_menu_id: str):
    return ok() if rich_menus().delete(rich_menu_id) else line_error(404, NOT_FOUND)


# Images (api-data.line.me) --------------------------------------------------------------


@bp.post("/v2/bot/richmenu/<rich_menu_id>/content")
@endpoint("richmenu")
def upload_rich_menu_image(rich_menu_id: str):
    menu = rich_menus().get(rich_menu_id)
    if menu is None:
        return line_error(404, NOT_FOUND)
    if rich_menus().has_image(rich_menu_id):
        return line_error(400, "An image has already been uploaded to the richmenu")
    image = _checked_image(menu["size"])
    if not rich_menus().attach_image(rich_menu_id, image):  # another upload got there first
        return line_error(400, "An image has already been uploaded to the richmenu")
    return ok()


def _checked_image(size: dict) -> Image:
    """A JPEG or PNG of at most 1 MB whose pixels are exactly the menu's size."""
    content_type = request.mimetype
    if content_type not in IMAGE_TYPES:
        raise Refused(line_error(415, "Unsupported media type: use image/jpeg or image/png"))
    body = request.get_data()
    if len(body) > MAX_IMAGE_BYTES:
        raise Refused(line_error(413, "Request Entity Too Large: the image must be 1 MB or less"))
    pixels = image_size(body, content_type)
    if pixels is None:
        raise Refused(line_error(400, f"The image is not a valid {content_type} file"))
    if pixels != (size["width"], size["height"]):
        raise Refused(
            line_error(
                400,
                f"The image is {pixels[0]}x{pixels[1]} pixels; "
                f"the rich menu is {size['width']}x{size['height']}",
            )
        )
    return Image(body, content_type)


@bp.get("/v2/bot/richmenu/<rich_menu_id>/content")
@endpoint("richmenu")
def download_rich_menu_image(rich_menu_id: str):
    image = rich_menus().image(rich_menu_id)
    if image is None:
        return line_error(404, NOT_FOUND)
    return Response(image.body, content_type=image.content_type)


# The default menu and per-user menus -----------------------------------------------------


@bp.post("/v2/bot/user/all/richmenu/<rich_menu_id>")
@endpoint("richmenu")
def set_default_rich_menu(rich_menu_id: str):
    refuse_if(_appliable(rich_menu_id))
    rich_menus().set_default(rich_menu_id)
    return ok()


@bp.get("/v2/bot/user/all/richmenu")
@endpoint("richmenu")
def get_default_rich_menu():
    default_id = rich_menus().default_id
    if default_id is None:
        return line_error(404, "no default richmenu")
    return jsonify({"richMenuId": default_id})


@bp.delete("/v2/bot/user/all/richmenu")
@endpoint("richmenu")
def cancel_default_rich_menu():
    rich_menus().set_default(None)
    return ok()


def _bad_user_id(user_id: str) -> Response | None:
    if USER_ID.fullmatch(user_id):
        return None
    return line_error(400, "The value for the 'userId' parameter is invalid")


@bp.post("/v2/bot/user/<user_id>/richmenu/<rich_menu_id>")
@endpoint("richmenu")
def link_rich_menu(user_id: str, rich_menu_id: str):
    refuse_if(_bad_user_id(user_id) or _appliable(rich_menu_id))
    rich_menus().link([user_id], rich_menu_id)
    return ok()


@bp.get("/v2/bot/user/<user_id>/richmenu")
@endpoint("richmenu")
def get_linked_rich_menu(user_id: str):
    refuse_if(_bad_user_id(user_id))
    linked = rich_menus().linked_id(user_id)
    if linked is None:
        return line_error(404, "the user has no richmenu")
    return jsonify({"richMenuId": linked})


@bp.delete("/v2/bot/user/<user_id>/richmenu")
@endpoint("richmenu")
def unlink_rich_menu(user_id: str):
    refuse_if(_bad_user_id(user_id))
    rich_menus().unlink([user_id])
    return ok()


def _bulk_user_ids(body: dict) -> list[Problem]:
    user_ids = body.get("userIds")
    if not isinstance(user_ids, list) or not 1 <= len(user_ids) <= MAX_BULK_USERS:
        return [(f"Size must be between 1 and {MAX_BULK_USERS}", "userIds")]
    return [
        ("Invalid user ID", f"userIds[{index}]")
        for index, user_id in enumerate(user_ids)
        if not isinstance(user_id, str) or not USER_ID.fullmatch(user_id)
    ][:1]


@bp.post("/v2/bot/richmenu/bulk/link")
@endpoint("richmenu")
def link_rich_menu_to_users():
    """Up to 500 users at once; LINE answers 202 and links them in the background (here at
    once)."""
    body = _posted_json()
    problems = _bulk_user_ids(body)
    if problems:
        return invalid(problems)
    refuse_if(_appliable(str(body.get("richMenuId") or "")))
    rich_menus().link(body["userIds"], body["richMenuId"])
    return ok(202)


@bp.post("/v2/bot/richmenu/bulk/unlink")
@endpoint("richmenu")
def unlink_rich_menu_from_users():
    body = _posted_json()
    problems = _bulk_user_ids(body)
    if problems:
        return invalid(problems)
    rich_menus().unlink(body["userIds"])
    return ok(202)


# Aliases ---------------------------------------------------------------------------------


def _alias_target(body: dict) -> Response | None:
    """LINE's refusal of `richMenuId` as an alias's menu, if it is refused."""
    rich_menu_id = body.get("richMenuId")
    if not isinstance(rich_menu_id, str) or rich_menus().get(rich_menu_id) is None:
        return line_error(400, "richmenu not found")
    if not rich_menus().has_image(rich_menu_id):
        return line_error(400, "richmenu image not found")
    return None


@bp.post("/v2/bot/richmenu/alias")
@endpoint("richmenu")
def create_rich_menu_alias():
    body = _posted_json()
    alias_id = body.get("richMenuAliasId")
    if not isinstance(alias_id, str) or not ALIAS_ID.fullmatch(alias_id):
        return invalid([("Must be 1 to 32 of A-Z a-z 0-9 _ -", "richMenuAliasId")])
    refuse_if(_alias_target(body))
    if not rich_menus().add_alias(alias_id, body["richMenuId"]):
        return line_error(400, "conflict richmenu alias id")
    return ok()


@bp.get("/v2/bot/richmenu/alias/list")
@endpoint("richmenu")
def list_rich_menu_aliases():
    aliases = rich_menus().all_aliases().items()
    return jsonify({"aliases": [{"richMenuAliasId": a, "richMenuId": m} for a, m in aliases]})


@bp.get("/v2/bot/richmenu/alias/<alias_id>")
@endpoint("richmenu")
def get_rich_menu_alias(alias_id: str):
    rich_menu_id = rich_menus().alias(alias_id)
    if rich_menu_id is None:
        return line_error(404, NOT_FOUND)
    return jsonify({"richMenuAliasId": alias_id, "richMenuId": rich_menu_id})


@bp.post("/v2/bot/richmenu/alias/<alias_id>")
@endpoint("richmenu")
def update_rich_menu_alias(alias_id: str):
    body = _posted_json()
    refuse_if(_alias_target(body))
    if not rich_menus().update_alias(alias_id, body["richMenuId"]):
        return line_error(404, NOT_FOUND)
    return ok()


@bp.delete("/v2/bot/richmenu/alias/<alias_id>")
@endpoint("richmenu")
def delete_rich_menu_alias(alias_id: str):
    return ok() if rich_menus().delete_alias(alias_id) else line_error(404, NOT_FOUND)
