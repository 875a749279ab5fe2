"""Inbound media through a real `pons serve`: the `media_download` job
fetches the file from the Meta stand-in and streams it to disk, and
`GET /api/media/{messageId}` serves it. A file over PONS_MEDIA_MAX_BYTES
fails for good and leaves no file behind, whether Meta announces its size
or the limit stops the download while it streams. The read tools show a
media object with the route's path, and the route serves byte ranges, a
UTF-8 file name and CORS for an allowed origin."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import httpx2
import pytest

from support import meta, metasim
from support.ids import new_customer, new_wamid
from support.mcp import ERAS, run_session, structured

MAX_BYTES = 300_000
APP_ORIGIN_RULE = "http://app.example:*"
APP_ORIGIN = "http://app.example:5173"
JOB_DEADLINE_SECONDS = 60


@pytest.fixture(scope="module")
def send_stack_env() -> dict[str, str]:
    return {"PONS_MEDIA_MAX_BYTES": str(MAX_BYTES), "PONS_ALLOWED_ORIGINS": APP_ORIGIN_RULE}


def file_bytes(size: int, seed: int) -> bytes:
    return bytes((i * seed) % 251 for i in range(size))


def post_image(send_stack, media_id: str, data: bytes) -> str:
    """Post a signed webhook of a customer's image with `media_id`; return its wamid."""
    return post_media(send_stack, new_customer(), "image", media_id, data, {"mime_type": "image/jpeg"})


def post_media(send_stack, customer: str, kind: str, media_id: str, data: bytes,
               fields: dict) -> str:
    """Post a signed webhook of `customer`'s file of type `kind` with
    `media_id` and Meta's other `fields`; return its wamid."""
    wamid = new_wamid()
    media = {
        "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
        "id": media_id,
        **fields,
    }
    message = {
        "from": customer,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: media,
    }
    change = meta.messages_change(
        phone_number_id=metasim.PHONE_NUMBER_ID,
        display_phone=metasim.DISPLAY_PHONE,
        contacts=[meta.contact(customer, "Ana")],
        messages=[message],
    )
    body = meta.encode(meta.envelope((metasim.WABA_ID, [change])))
    response = send_stack.stack.meta.post(body, secret=metasim.APP_SECRET)
    assert response.status_code == 200, response.text
    return wamid


def media_job_outcome(send_stack, start_at: int) -> dict:
    """Wait for the log line that ends a media_download job."""
    ends = {"job completed", "job failed for good", "job failed; will retry"}
    return send_stack.server.wait_for_log(
        lambda f: f.get("kind") == "media_download" and f.get("message") in ends,
        JOB_DEADLINE_SECONDS,
        start_at,
    )


def media_row(send_stack, wamid: str) -> tuple:
    rows = send_stack.db.query(
        "SELECT id, media_status, media_size, media_error FROM messages WHERE wamid = ?", wamid
    )
    assert len(rows) == 1, rows
    return rows[0]


def media_files(send_stack) -> list[str]:
    media = send_stack.server.data_dir / "media"
    return sorted(str(path.relative_to(media)) for path in media.rglob("*") if path.is_file())


@pytest.mark.parametrize("size_unknown", [False, True], ids=["announced", "streamed"])
def test_media_download_served(send_stack, sim, size_unknown):
    data = file_bytes(200_000, 7 if size_unknown else 11)
    media_id = sim.add_media(data, "image/jpeg", size_unknown=size_unknown)
    start_at = len(send_stack.server.lines)

    wamid = post_image(send_stack, media_id, data)
    outcome = media_job_outcome(send_stack, start_at)

    assert outcome["message"] == "job completed", send_stack.server.log_tail()
    message_id, status, size, error = media_row(send_stack, wamid)
    assert (status, size, error) == ("stored", len(data), None)
    sha256 = hashlib.sha256(data).hexdigest()
    assert f"{sha256[:2]}/{sha256}" in media_files(send_stack)
    assert not any(name.startswith("partial/") for name in media_files(send_stack))
    response = httpx2.get(
        f"{send_stack.server.url}/api/media/{message_id}",
        headers={"Authorization": f"Bearer {send_stack.key.text}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-length"] == str(len(data))
    assert response.content == data


@pytest.mark.parametrize("size_unknown", [False, True], ids=["announced", "streamed"])
def test_media_over_limit_fails(send_stack, sim, size_unknown):
    data = file_bytes(MAX_BYTES + 1, 13 if size_unknown else 17)
    media_id = sim.add_media(data, "image/jpeg", size_unknown=size_unknown)
    before = media_files(send_stack)
    start_at = len(send_stack.server.lines)

    wamid = post_image(send_stack, media_id, data)
    outcome = media_job_outcome(send_stack, start_at)

    assert outcome["message"] == "job failed for good", send_stack.server.log_tail()
    assert f"larger than the limit of {MAX_BYTES} bytes" in outcome["error"]
    _, status, size, error = media_row(send_stack, wamid)
    assert (status, size) == ("failed", None)
    assert f"larger than the limit of {MAX_BYTES} bytes" in error
    downloads = [r for r in sim.requests() if r["path"].startswith("/media-download/")]
    assert len(downloads) == (1 if size_unknown else 0), "an announced size stops the job first"
    assert media_files(send_stack) == before, "no file is stored or left behind"


def fetch_media(send_stack, path: str, headers: dict | None = None, method: str = "GET"):
    return httpx2.request(
        method,
        f"{send_stack.server.url}{path}",
        headers={"Authorization": f"Bearer {send_stack.key.text}", **(headers or {})},
        timeout=30,
    )


@pytest.fixture(scope="module")
def stored_document(send_stack) -> dict:
    """A customer's PDF with a non-ASCII file name and a caption, downloaded
    and stored, then a file the business sent back by link."""
    data = file_bytes(5_000, 19)
    media_id = send_stack.sim.add_media(data, "application/pdf")
    customer = new_customer()
    start_at = len(send_stack.server.lines)

    fields = {
        "mime_type": "application/pdf",
        "filename": "résumé ü.pdf",
        "caption": "quarterly ledger attached",
    }
    wamid = post_media(send_stack, customer, "document", media_id, data, fields)
    outcome = media_job_outcome(send_stack, start_at)
    assert outcome["message"] == "job completed", send_stack.server.log_tail()
    message_id = media_row(send_stack, wamid)[0]

    link = "https://cdn.example.com/signed-ledger.pdf"
    sent = structured(send_stack.call("send_media", {
        "phone": customer,
        "url": link,
        "mimeType": "application/pdf",
        "filename": "signed.pdf",
    }))
    return {
        "customer": customer,
        "wamid": wamid,
        "message_id": message_id,
        "data": data,
        "link": link,
        "sent_id": sent["messageId"],
    }


@pytest.mark.parametrize("mode", ERAS)
def test_tools_show_media(send_stack, stored_document, mode):
    document = stored_document
    expected = {
        "mimeType": "application/pdf",
        "fileName": "résumé ü.pdf",
        "sizeBytes": len(document["data"]),
        "downloadStatus": "stored",
        "error": None,
        "path": f"/api/media/{document['message_id']}",
        "link": None,
    }
    conversation = structured(
        send_stack.call("get_conversation", {"phone": "+" + document["customer"]}, mode=mode)
    )
    by_id = {m["id"]: m for m in conversation["messages"]}
    assert by_id[document["message_id"]]["media"] == expected
    sent = by_id[document["sent_id"]]["media"]
    assert sent == {
        "mimeType": "application/pdf",
        "fileName": "signed.pdf",
        "sizeBytes": None,
        "downloadStatus": None,
        "error": None,
        "path": None,
        "link": document["link"],
    }

    found = structured(
        send_stack.call("search_messages", {"query": "quarterly ledger"}, mode=mode)
    )
    hits = [h for h in found["hits"] if h["messageId"] == document["message_id"]]
    assert len(hits) == 1, found["hits"]
    assert hits[0]["media"] == expected

    response = fetch_media(send_stack, expected["path"])
    assert response.status_code == 200, response.text
    assert response.content == document["data"]


def test_output_schemas_describe_media(send_stack):
    async def work(client):
        return {tool.name: tool.output_schema for tool in (await client.list_tools()).tools}

    schemas = run_session(send_stack.server.mcp_url, send_stack.key.text, ERAS[0], work)
    for tool in ("get_conversation", "search_messages"):
        schema = json.dumps(schemas[tool])
        for field in ("downloadStatus", "sizeBytes", "fileName", "/api/media/"):
            assert field in schema, f"{tool} lacks {field}"


@pytest.mark.parametrize(
    ("range_header", "status", "content_range", "part"),
    [
        ("bytes=0-99", 206, "bytes 0-99/5000", slice(0, 100)),
        ("bytes=-100", 206, "bytes 4900-4999/5000", slice(4900, 5000)),
        ("bytes=100-", 206, "bytes 100-4999/5000", slice(100, 5000)),
        ("bytes=0-9,20-29", 200, None, slice(0, 5000)),
    ],
    ids=["first-100", "last-100", "from-100", "several"],
)
def test_media_range_served(send_stack, stored_document, range_header, status, content_range,
                            part):
    path = f"/api/media/{stored_document['message_id']}"
    response = fetch_media(send_stack, path, {"Range": range_header})
    assert response.status_code == status, response.headers
    assert response.headers.get("content-range") == content_range
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == stored_document["data"][part]


def test_media_range_outside_file(send_stack, stored_document):
    path = f"/api/media/{stored_document['message_id']}"
    response = fetch_media(send_stack, path, {"Range": "bytes=5000-"})
    assert response.status_code == 416, response.headers
    assert response.headers["content-range"] == "bytes */5000"


def test_media_utf8_file_name(send_stack, stored_document):
    response = fetch_media(send_stack, f"/api/media/{stored_document['message_id']}")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"r_sum_ _.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%C3%BC.pdf"
    )


def test_media_preflight_from_allowed_origin(send_stack, stored_document):
    response = httpx2.options(
        f"{send_stack.server.url}/api/media/{stored_document['message_id']}",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, range",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    methods = response.headers["access-control-allow-methods"]
    assert "GET" in methods, methods
    assert "HEAD" in methods, methods
    assert "authorization" in response.headers["access-control-allow-headers"].lower()

    fetched = fetch_media(
        send_stack, f"/api/media/{stored_document['message_id']}", {"Origin": APP_ORIGIN}
    )
    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["access-control-allow-origin"] == APP_ORIGIN


def test_mcp_preflight_offers_post_only(send_stack):
    response = httpx2.options(
        send_stack.server.mcp_url,
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    methods = response.headers["access-control-allow-methods"]
    assert "POST" in methods, methods
    assert "GET" not in methods, methods
