"""Changes made in Kickserv outside this server, found by polling (``watcher``) its listings
(``feeds``) and appended to each tenant's event log (``resolvers.events``)."""

from resolvers.watch.feeds import FEEDS, Feed
from resolvers.watch.watcher import TenantWatcher, Watcher, WatchSettings, WatchStats, WatchStore

__all__ = [
    "FEEDS",
    "Feed",
    "TenantWatcher",
    "WatchSettings",
    "WatchStats",
    "WatchStore",
    "Watcher",
]
