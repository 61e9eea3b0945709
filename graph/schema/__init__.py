"""The GraphQL schema: Strawberry types by domain, federation entities, root fields, mutations.

Decides nothing about what to fetch (that is ``resolvers``); knows nothing of HTTP (that is
``graph.server``, which imports this package, never the other way round).
"""
