"""Status codes become the right exception, with context, and never with the token."""

from __future__ import annotations

import base64
import traceback

import httpx
import pytest

from kickserv import (
    APIError,
    BadRequest,
    Forbidden,
    KickservError,
    NotFound,
    RateLimited,
    ResponseShape,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
    Validation,
)

from .conftest import TOKEN


def answer(status, body=None, headers=None, content=None):
    def handler(request: httpx.Request) -> httpx.Response:
        merged = {"X-Request-Id": "req-123", **(headers or {})}
        if content is not None:
            return httpx.Response(status, content=content, headers=merged)
        return httpx.Response(status, json=body, headers=merged)

    return handler


def assert_no_secret(exc: BaseException) -> None:
    basic = base64.b64encode(f"{TOKEN}:{TOKEN}".encode()).decode()
    rendered = "".join(traceback.format_exception(exc)) + repr(exc) + str(vars(exc))
    assert TOKEN not in rendered
    assert basic not in rendered
    assert "Authorization" not in rendered


async def test_401_is_unauthorized_with_context(make_client):
    ks = make_client(answer(401, {"errors": ["Invalid Username, Account or password."]}))
    with pytest.raises(Unauthorized) as caught:
        await ks.customers.get(1)
    exc = caught.value
    assert (exc.status, exc.method, exc.path) == (401, "GET", "/demo/api/v2/customers/1.json")
    assert exc.request_id == "req-123"
    assert exc.messages == ("Invalid Username, Account or password.",)
    assert "API token" in str(exc) and "req-123" in str(exc)
    assert_no_secret(exc)


async def test_400_invalid_record_is_not_found(make_client):
    ks = make_client(answer(400, {"errors": ["Invalid customer."]}))
    with pytest.raises(NotFound) as caught:
        await ks.customers.get(999)
    assert caught.value.status == 400
    assert "Invalid customer." in str(caught.value)
    assert "customer_number" in str(caught.value)  # how to fix


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, {"errors": ["Not found."]}, NotFound),
        (400, {"errors": ["Bad scheduled value"]}, BadRequest),
        (403, {"errors": ["Forbidden"]}, Forbidden),
        (409, {"error": "Conflict"}, APIError),
    ],
)
async def test_other_statuses_map_to_their_class(make_client, status, body, expected):
    ks = make_client(answer(status, body))
    with pytest.raises(expected) as caught:
        await ks.jobs.get(5)
    assert type(caught.value) is expected
    assert caught.value.status == status


async def test_422_carries_field_errors(make_client):
    body = {"errors": {"name": ["Name can't be blank"], "job_type_id": ["is invalid"]}}
    ks = make_client(answer(422, body))
    with pytest.raises(Validation) as caught:
        await ks.customers.create(name="")
    exc = caught.value
    assert exc.field_errors == {"name": ["Name can't be blank"], "job_type_id": ["is invalid"]}
    assert "Name can't be blank" in str(exc) and "job_type_id is invalid" in str(exc)
    assert_no_secret(exc)


async def test_write_answering_200_with_errors_is_validation(make_client):
    # The reference: POST /vendors.json answers the vendor with an `errors` key on a duplicate.
    ks = make_client(
        answer(200, {"id": 1, "name": "Acme", "errors": {"name": ["has already been taken"]}})
    )
    with pytest.raises(Validation) as caught:
        await ks.vendors.create(name="Acme")
    assert caught.value.field_errors == {"name": ["has already been taken"]}


async def test_500_is_server_error_after_retries(make_client, recorder):
    ks = make_client(answer(500, {"errors": ["Internal server error."]}))
    with pytest.raises(ServerError) as caught:
        await ks.vendors.list().all()
    assert "after 4 attempts" in str(caught.value)
    assert len(recorder.calls) == 4


@pytest.mark.parametrize(
    "content",
    [b'{"customers": [{"id": 1, "customer_nu', b"<html>Bad gateway</html>", b'{"customers": 5}'],
)
async def test_malformed_and_truncated_bodies_raise_response_shape(make_client, content):
    ks = make_client(answer(200, content=content))
    with pytest.raises(ResponseShape) as caught:
        await ks.customers.list().page(1)
    assert caught.value.path == "/demo/api/v2/customers.json"
    assert "GET /demo/api/v2/customers.json" in str(caught.value)
    assert_no_secret(caught.value)


async def test_wrong_typed_entry_names_the_entry(make_client):
    body = {"customers": [{"id": 1, "customer_number": 1, "name": "ok"}, {"id": "x"}]}
    ks = make_client(answer(200, body))
    with pytest.raises(ResponseShape, match=r"customers\[1\]: Customer.id"):
        await ks.customers.list().all()


async def test_connect_error_is_transport_error_without_secret(make_client):
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    ks = make_client(refuse)
    with pytest.raises(TransportError) as caught:
        await ks.customers.get(1)
    assert not isinstance(caught.value, Timeout)
    assert isinstance(caught.value, KickservError)
    assert_no_secret(caught.value)


async def test_rate_limited_exposes_retry_after(make_client):
    ks = make_client(answer(429, {"errors": ["Rate limit exceeded."]}, {"Retry-After": "120"}))
    with pytest.raises(RateLimited) as caught:
        await ks.items.list().page(1)
    # 120 s exceeds the default 30 s wait budget: no sleeping, the caller learns the wait.
    assert caught.value.retry_after == 120.0
    assert "120" in str(caught.value)


async def test_unreadable_success_is_still_reported_to_the_observer(make_client, recorder):
    ks = make_client(answer(200, content=b"<html>"))
    with pytest.raises(ResponseShape):
        await ks.customers.get(1)
    assert [(c.status, c.retried) for c in recorder.calls] == [(200, False)]
