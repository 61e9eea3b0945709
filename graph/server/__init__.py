"""The server: GraphQL over HTTP, auth and tenancy, persisted documents, limits, response cache,
app assembly and the command line. Imports ``graph.schema``; the schema never imports this package.
"""
