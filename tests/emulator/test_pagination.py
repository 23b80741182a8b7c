"""Cursor pagination: pages, order, and the bounds of ``limit``."""

from __future__ import annotations

import httpx

from .helpers import error, ok


def _all_pages(api: httpx.Client, **params: str | int) -> tuple[list[str], int]:
    names: list[str] = []
    pages = 0
    query: dict[str, str | int] = dict(params)
    while True:
        page = ok(api.get("/projects", params=query))
        pages += 1
        names += [item["name"] for item in page["items"]]
        if not page["hasMore"]:
            assert "nextPage" not in page
            return names, pages
        query["after"] = page["nextPage"]


def test_pages_cover_every_item_once_in_creation_order(api: httpx.Client) -> None:
    expected = [f"p{i:02}" for i in range(25)]
    for name in expected:
        ok(api.post("/projects", json={"name": name}))
    names, pages = _all_pages(api, limit=10)
    assert names == expected and pages == 3
    names, pages = _all_pages(api, limit=10, order="desc")
    assert names == expected[::-1] and pages == 3
    assert len(ok(api.get("/projects"))["items"]) == 20  # the default page size
    names, pages = _all_pages(api, limit=120)
    assert names == expected and pages == 1


def test_out_of_range_parameters_are_bad_requests(api: httpx.Client) -> None:
    for params in (
        {"limit": 0},
        {"limit": 121},
        {"limit": "ten"},
        {"order": "up"},
        {"orderBy": "name"},
        {"after": "garbage!"},
    ):
        body = error(api.get("/projects", params=params), 400, "BAD_REQUEST")
        assert body["issues"][0]["path"] == next(iter(params))
