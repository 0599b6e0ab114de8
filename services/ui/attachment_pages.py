"""附件 on the case page: the upload form posts here (multipart) and the download link reads
through here, both with the signed-in person's credential, so the API's row scope applies and
every download is recorded on the case."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import ImmutableMultiDict, UploadFile

from services.ui.case_pages import case_page_with_errors
from services.ui.client import ApiRefusal
from services.ui.session import CurrentViewer, check_csrf

router = APIRouter(prefix="/ui", include_in_schema=False)
FORM_KEY = "attach"  # the key the page shows a refusal under


@router.post("/cases/{case_id}/attachments")
async def upload(case_id: UUID, request: Request, viewer: CurrentViewer) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    request.state.form = ImmutableMultiDict(fields)  # the CSRF check reads the text fields
    await check_csrf(request)
    file = form.get("file")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise ApiRefusal(422, "请选择要上传的文件 (choose a file)")
        data = await file.read()
        sent = (file.filename, data, file.content_type or "application/octet-stream")
        await viewer.api.upload(
            f"/api/v1/cases/{case_id}/attachments",
            sent,
            {"purpose": fields.get("purpose", "result")},
        )
    except ApiRefusal as refusal:
        if refusal.status in (401, 404):
            raise
        errors = {FORM_KEY: refusal.detail}
        return await case_page_with_errors(request, viewer, case_id, errors, refusal.status)
    return RedirectResponse(f"/ui/cases/{case_id}?done={FORM_KEY}#attachments", status_code=303)


@router.post("/cases/{case_id}/attachments/{digest}/public")
async def public(case_id: UUID, digest: str, request: Request, viewer: CurrentViewer) -> Response:
    """公开 / 撤回公开: the office's button beside an image or video (``shown`` is 1 or 0;
    a withdrawal carries the ``reason`` the form asks for, which the API requires)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    request.state.form = ImmutableMultiDict(fields)
    await check_csrf(request)
    path = f"/api/v1/cases/{case_id}/attachments/{digest}/public"
    try:
        if fields.get("shown") == "1":
            await viewer.api.send("PUT", path)
        else:
            await viewer.api.send("DELETE", path, {"reason": fields.get("reason", "")})
    except ApiRefusal as refusal:
        if refusal.status in (401, 404):
            raise
        errors = {FORM_KEY: refusal.detail}
        return await case_page_with_errors(request, viewer, case_id, errors, refusal.status)
    return RedirectResponse(f"/ui/cases/{case_id}?done=public#attachments", status_code=303)


@router.get("/cases/{case_id}/attachments/{digest}")
async def download(case_id: UUID, digest: str, viewer: CurrentViewer) -> Response:
    return await viewer.api.document(f"/api/v1/cases/{case_id}/attachments/{digest}")
