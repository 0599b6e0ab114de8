"""待办: the signed-in person's inbox (notify's ``/api/v1/inbox``), the unread count the header
shows, and marking a message as read."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.ui.client import ApiRefusal
from services.ui.render import page
from services.ui.session import CurrentViewer, Viewer, check_csrf, read_form

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(request: Request, viewer: CurrentViewer) -> Response:
    return await _inbox(request, viewer)


async def _inbox(
    request: Request, viewer: Viewer, error: str | None = None, status: int = 200
) -> Response:
    unread_only = request.query_params.get("unread") == "1"
    inbox = await viewer.api.get("/api/v1/inbox", {"unread": unread_only, "limit": 100})
    mine = await viewer.api.raw("/api/v1/me/notification-settings")  # 404: not in the directory
    channels = await viewer.api.get("/api/v1/notification-channels")
    return page(
        request,
        "inbox.html",
        viewer,
        status=status,
        inbox=inbox,
        unread_only=unread_only,
        settings=mine.json() if mine.status_code == 200 else None,
        channels=channels,
        settings_error=error,
        saved=request.query_params.get("saved") == "1",
    )


@router.post("/inbox/settings", dependencies=[Depends(check_csrf)])
async def save_settings(request: Request, viewer: CurrentViewer) -> Response:
    """The channels (短信 among them), 免打扰 and 每日汇总, as the person chooses them
    (notify's own check answers)."""
    form = await read_form(request)
    body = {
        "email_enabled": form.get("email_enabled") == "true",
        "robot_enabled": form.get("robot_enabled") == "true",
        "sms_enabled": form.get("sms_enabled") == "true",
        "quiet_start": form.get("quiet_start") or None,
        "quiet_end": form.get("quiet_end") or None,
        "digest": form.get("digest") == "true",
    }
    try:
        await viewer.api.send("PUT", "/api/v1/me/notification-settings", body)
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        return await _inbox(request, viewer, refusal.detail, refusal.status)
    return RedirectResponse("/ui/inbox?saved=1", status_code=303)


@router.get("/inbox/count", response_class=HTMLResponse)
async def unread_count(request: Request, viewer: CurrentViewer) -> Response:
    """The header's 待办 badge (fetched by htmx after the page, so no page waits for it)."""
    count = (await viewer.api.get("/api/v1/inbox/unread-count"))["unread"]
    return page(request, "inbox_count.html", viewer, unread=count)


@router.post("/inbox/{message_id}/read", dependencies=[Depends(check_csrf)])
async def mark_read(message_id: UUID, request: Request, viewer: CurrentViewer) -> Response:
    await viewer.api.send("POST", f"/api/v1/inbox/{message_id}/read")
    return RedirectResponse("/ui/inbox", status_code=303)
