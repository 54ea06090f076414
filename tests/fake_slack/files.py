"""files_upload_v2: files.getUploadURLExternal, the raw upload, files.completeUploadExternal."""

from __future__ import annotations

import mimetypes
import secrets
import time
from typing import Any

from aiohttp import web

from tests.fake_slack.errors import SlackError, field_bytes, invalid, json_param, require
from tests.fake_slack.limits import RateLimits
from tests.fake_slack.records import UPLOAD, Call, Channel, File, TokenInfo


class FilesApi(RateLimits):
    """Uploads in three steps, each strict as Slack is: an upload URL (its id unknown to us:
    refused, 404) takes one upload; files.completeUploadExternal shares only files whose bytes
    arrived (else `file_not_found`), in conversations that exist and the bot may post in (a
    user id is `channel_not_found`: a file for a person goes to their DM's id). Any step can be
    made to fail (`fail_next`: a method's name, or `UPLOAD` for the bytes' POST), a 429 with
    its Retry-After included."""

    def _files_get_upload_url(
        self, params: dict[str, Any], auth: TokenInfo | None
    ) -> dict[str, Any]:
        assert auth is not None
        require(params, "filename", "length")
        try:
            length = int(params["length"])
        except ValueError as exc:
            raise SlackError("invalid_arguments") from exc
        if length < 1:
            raise SlackError("invalid_arguments")
        file = File(
            id=self._new_id("F"),
            filename=str(params["filename"]),
            length=length,
            user=auth.user_id,
            team=auth.team_id,
            alt_txt=params.get("alt_txt"),
        )
        self.files[file.id] = file
        key = secrets.token_urlsafe(24)
        self._uploads[key] = file.id
        return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{key}", "file_id": file.id}

    async def _serve_upload(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        key = request.match_info["key"]
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = form.get("file") or form.get("filename")
            data = b"" if part is None or isinstance(part, str) else field_bytes(part)
        else:
            data = await request.read()
        file_id = self._uploads.get(key)
        params = {"file_id": file_id, "length": len(data)}
        forced = self._take_forced(UPLOAD)
        if forced is not None or file_id is None:
            status = forced.status if forced else 404
            self.rejected.append(Call(UPLOAD, params, None, arrived, "POST", status, None))
            headers = {"Retry-After": str(forced.retry_after)} if forced else {}
            return web.Response(status=status, text="Not Found", headers=headers)
        self.files[file_id].content = data
        del self._uploads[key]  # an upload URL takes one upload
        self.calls.append(Call(UPLOAD, params, None, arrived, "POST", 200, f"OK - {len(data)}"))
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    def _file_json(self, file: File) -> dict[str, Any]:
        team = self.teams.get(file.team)
        domain = team.domain if team else file.team
        mimetype = mimetypes.guess_type(file.filename)[0] or "application/octet-stream"
        filetype = file.filename.rsplit(".", 1)[-1].lower() if "." in file.filename else "binary"
        kinds: dict[str, list[str]] = {"channels": [], "groups": [], "ims": []}
        for channel_id in file.channels:
            channel = self.channels[channel_id]
            kind = "ims" if channel.is_im else "groups" if channel.is_private else "channels"
            kinds[kind].append(channel_id)
        return {
            "id": file.id,
            "created": file.created,
            "timestamp": file.created,
            "name": file.filename,
            "title": file.title or file.filename,
            "mimetype": mimetype,
            "filetype": filetype,
            "user": file.user,
            "user_team": file.team,
            "editable": False,
            "size": len(file.content or b""),
            "mode": "hosted",
            "is_external": False,
            "is_public": bool(kinds["channels"]),
            "url_private": f"{self.base_url}/files-pri/{file.team}-{file.id}/{file.filename}",
            "permalink": f"https://{domain}.slack.com/files/{file.user}/{file.id}/{file.filename}",
            "alt_txt": file.alt_txt,
            **kinds,
        }

    def _files_complete_upload(
        self, params: dict[str, Any], auth: TokenInfo | None
    ) -> dict[str, Any]:
        assert auth is not None
        entries = json_param(params, "files")
        if not isinstance(entries, list) or not entries:
            raise invalid("invalid_arguments", ["must provide files"])
        targets: list[Channel] = []
        names = [params["channel_id"]] if params.get("channel_id") else []
        names += [c for c in str(params.get("channels") or "").split(",") if c]
        for name in names:
            channel = self._channel(name)
            self._postable(channel, auth)
            targets.append(channel)
        files: list[File] = []
        for entry in entries:
            file = self.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if file is None or file.content is None or file.team != auth.team_id:
                raise SlackError("file_not_found")
            files.append(file)
        thread_ts = params.get("thread_ts") or None
        for file, entry in zip(files, entries, strict=True):
            file.title = entry.get("title") or file.filename
            file.completed = True
            file.initial_comment = params.get("initial_comment")
            file.thread_ts = thread_ts
            file.channels = [c.id for c in targets]
        comment = str(params.get("initial_comment") or "")
        for channel in targets:
            self._post_as(
                auth, channel, comment, [], thread_ts=thread_ts, files=[f.id for f in files]
            )
        return {"ok": True, "files": [self._file_json(f) for f in files]}
