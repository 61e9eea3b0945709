"""The GraphiQL page browsers get at GET /graphql, served entirely from our own static files.

Stock Strawberry's page pulls its scripts from a public CDN and stays a blank "Loading..." page
offline. Ours loads React, ReactDOM, GraphiQL and its Explorer plugin from
``graph/server/static/graphiql/`` (vendored, see its README) and forbids every other origin with a
Content-Security-Policy, so nothing leaves the host. ``boot.js`` there starts it; the page's
``#graphiql-notice`` is where it says why the schema is missing (introspection refused, no key).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.types import Scope, Send

STATIC_DIRECTORY = Path(__file__).parent / "static"

DEFAULT_QUERY = """\
# Welcome to kickserv-graph. Press the run button (or Ctrl-Enter) to run a query.
# Headers (e.g. an API key) go in the Headers tab below.
query CustomersWithLocations {
  customers(first: 5) {
    totalCount
    edges {
      node {
        id
        number
        name
        locations {
          name
          isPrimary
          address {
            line1
            city
            state
          }
        }
      }
    }
  }
}
"""

# 'unsafe-inline' styles: React and CodeMirror set style attributes. data: fonts and images are
# embedded in graphiql.min.css. connect-src 'self' keeps the fetcher on our own origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'"
)

_PAGE = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title}</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{static}/graphiql.min.css">
    <link rel="stylesheet" href="{static}/graphiql-plugin-explorer.css">
    <style>
      html, body {{ height: 100%; margin: 0; }}
      body {{ display: flex; flex-direction: column; }}
      #graphiql {{ flex: 1; min-height: 0; }}
      #graphiql-notice {{
        display: flex; gap: 1em; align-items: center; padding: 0.6em 1em;
        font: 14px/1.4 system-ui, sans-serif; background: #fff4d6; color: #4a3b00;
        border-bottom: 1px solid #e8d48a;
      }}
      #graphiql-notice[hidden] {{ display: none; }}
      #graphiql-notice .graphiql-notice-text {{ flex: 1; }}
    </style>
  </head>
  <body>
    <div id="graphiql-notice" role="alert" hidden>
      <span class="graphiql-notice-text"></span>
      <button type="button" aria-label="Dismiss">&times;</button>
    </div>
    <div id="graphiql" data-endpoint="{endpoint}" data-default-query="{default_query}">Loading…</div>
    <script src="{static}/react.production.min.js"></script>
    <script src="{static}/react-dom.production.min.js"></script>
    <script src="{static}/graphiql.min.js"></script>
    <script src="{static}/graphiql-plugin-explorer.umd.js"></script>
    <script src="{static}/boot.js"></script>
  </body>
</html>
"""


def render_graphiql_page(
    *,
    endpoint: str,
    static_prefix: str = "/static/graphiql",
    default_query: str = DEFAULT_QUERY,
    title: str = "kickserv-graph",
) -> str:
    """The page's HTML. ``endpoint`` and ``static_prefix`` are paths on our own origin."""
    return _PAGE.format(
        title=escape(title),
        static=escape(static_prefix.rstrip("/")),
        endpoint=escape(endpoint),
        default_query=escape(default_query),
    )


class GraphiQLPages:
    """Sends the page, rendered once per path it is served at (a few: kept, at most 16)."""

    def __init__(self) -> None:
        self._pages: dict[tuple[str, str], bytes] = {}

    async def send(self, scope: Scope, send: Send) -> None:
        root_path: str = scope.get("root_path", "")
        key = (root_path, scope["path"])
        page = self._pages.get(key)
        if page is None:
            page = render_graphiql_page(
                endpoint=root_path + scope["path"], static_prefix=f"{root_path}/static/graphiql"
            ).encode()
            if len(self._pages) < 16:
                self._pages[key] = page
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(page)).encode()),
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"cache-control", b"no-cache"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": page})
