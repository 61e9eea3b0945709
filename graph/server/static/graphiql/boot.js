// Starts GraphiQL (our own file, not vendored). Reads its settings from the #graphiql element's
// data attributes so the page needs no inline script and its CSP can forbid every other origin.
//
// Beyond stock GraphiQL it:
// - sends an operationName that names an operation of the document it sends (GraphiQL updates its
//   operation name 100 ms after an edit, so a run right after a paste sent the previous name);
// - keeps headers out of the browser's storage unless "Persist headers" is on in Settings (GraphiQL
//   would keep them in the history either way);
// - fetches the schema with the headers the headers editor holds now, and says why the schema could
//   not be fetched when the server refuses introspection or wants a key;
// - adds the Explorer plugin (vendored beside GraphiQL).
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var notice = document.getElementById("graphiql-notice");
  var endpoint = root.dataset.endpoint || window.location.pathname;
  var INTROSPECTION_QUERY_NAME = "IntrospectionQuery"; // GraphiQL's default introspectionQueryName

  // --- the operation name ------------------------------------------------------------------------

  // The operations of a document: [{name, start, end}], or null when it does not parse (the server
  // then reports the syntax error itself).
  function operationsOf(query) {
    try {
      return GraphiQL.GraphQL.parse(query)
        .definitions.filter(function (definition) {
          return definition.kind === "OperationDefinition";
        })
        .map(function (operation) {
          return {
            name: operation.name ? operation.name.value : null,
            start: operation.loc ? operation.loc.start : 0,
            end: operation.loc ? operation.loc.end : 0,
          };
        });
    } catch (error) {
      return null;
    }
  }

  // Where the cursor is in the query editor, if the editor holds exactly the text being sent.
  function cursorIndexIn(query) {
    var wrapper = document.querySelector(".graphiql-query-editor .CodeMirror");
    var editor = wrapper && wrapper.CodeMirror;
    if (!editor || editor.getValue() !== query) return null;
    return editor.indexFromPos(editor.getCursor());
  }

  // The name to send with ``query``: ``given`` when the document has an operation of that name,
  // else its only operation's, else the operation at the cursor, else the first one.
  function operationNameFor(query, given) {
    var operations = operationsOf(query);
    if (!operations || operations.length === 0) return given;
    var names = operations.map(function (operation) {
      return operation.name;
    });
    if (given && names.indexOf(given) !== -1) return given;
    if (operations.length === 1) return names[0];
    var cursor = cursorIndexIn(query);
    for (var i = 0; cursor !== null && i < operations.length; i++) {
      if (operations[i].start <= cursor && cursor <= operations[i].end) return names[i];
    }
    return names[0];
  }

  // The headers editor's headers as they are now, or null. GraphiQL hands its introspection the
  // headers it saw at its last render, so a schema re-fetched right after a key was pasted went
  // without the key.
  function currentHeaders() {
    var wrappers = document.querySelectorAll(".graphiql-editor-tool .CodeMirror");
    for (var i = 0; i < wrappers.length; i++) {
      var editor = wrappers[i].CodeMirror;
      var mode = editor && editor.getOption("mode");
      if (!mode || mode.name !== "javascript") continue; // the variables editor's is graphql-variables
      try {
        var headers = JSON.parse(editor.getValue() || "{}");
        return headers && typeof headers === "object" && !Array.isArray(headers) ? headers : null;
      } catch (error) {
        return null;
      }
    }
    return null;
  }

  // --- headers kept only when the user asks --------------------------------------------------------

  var PERSIST_KEY = "graphiql:shouldPersistHeaders";
  var LISTS = { "graphiql:queries": "queries", "graphiql:favorites": "favorites" };

  function persistingHeaders() {
    return window.localStorage.getItem(PERSIST_KEY) === "true";
  }

  // A stored history or favorites list without the headers of its entries.
  function withoutHeaders(key, value) {
    try {
      var stored = JSON.parse(value);
      var items = stored && stored[LISTS[key]];
      if (!Array.isArray(items)) return value;
      items.forEach(function (item) {
        if (item && typeof item === "object") item.headers = null;
      });
      return JSON.stringify(stored);
    } catch (error) {
      return value;
    }
  }

  function scrubLists() {
    Object.keys(LISTS).forEach(function (key) {
      var value = window.localStorage.getItem(key);
      if (value !== null) window.localStorage.setItem(key, withoutHeaders(key, value));
    });
  }

  // GraphiQL's own storage (localStorage, keys under "graphiql:"), except that while "Persist
  // headers" is off the history and favorites are written without headers, and switching it off
  // removes the headers already written.
  var storage = {
    getItem: function (key) {
      return window.localStorage.getItem(key);
    },
    setItem: function (key, value) {
      if (LISTS[key] && !persistingHeaders()) value = withoutHeaders(key, value);
      window.localStorage.setItem(key, value);
      if (key === PERSIST_KEY && value !== "true") scrubLists();
    },
    removeItem: function (key) {
      window.localStorage.removeItem(key);
    },
    get length() {
      return Object.keys(window.localStorage).filter(function (key) {
        return key.indexOf("graphiql:") === 0;
      }).length;
    },
    clear: function () {
      Object.keys(window.localStorage).forEach(function (key) {
        if (key.indexOf("graphiql:") === 0) window.localStorage.removeItem(key);
      });
    },
  };
  if (!persistingHeaders()) scrubLists();

  // --- why the schema is missing -------------------------------------------------------------------

  function showNotice(text) {
    if (!notice) return;
    notice.querySelector(".graphiql-notice-text").textContent = text;
    notice.hidden = false;
  }

  function hideNotice() {
    if (notice) notice.hidden = true;
  }

  if (notice) {
    notice.querySelector("button").addEventListener("click", hideNotice);
  }

  function sentAKey(headers) {
    return Object.keys(headers).some(function (name) {
      var lower = name.toLowerCase();
      return lower === "x-api-key" || lower === "authorization";
    });
  }

  // After GraphiQL's introspection query: a hint when the server refused it, none once it worked.
  function explainIntrospection(result, headers) {
    if (result && result.data && result.data.__schema) {
      hideNotice();
      return;
    }
    var errors = (result && Array.isArray(result.errors) && result.errors) || [];
    var extensions = errors.map(function (error) {
      return (error && error.extensions) || {};
    });
    var has = function (field, value) {
      return extensions.some(function (ext) {
        return ext[field] === value;
      });
    };
    if (has("reason", "INTROSPECTION_DISABLED")) {
      showNotice(
        (sentAKey(headers)
          ? "Introspection is disabled for this API key"
          : "Introspection is disabled on this server") +
          ", so Docs, Explorer and autocompletion have no schema. Queries still run. Ask the " +
          "operator for a key with introspection allowed, or use the published schema.graphql."
      );
    } else if (has("code", "UNAUTHENTICATED")) {
      showNotice(
        (sentAKey(headers) ? "The server did not accept this API key" : "This server needs an API key") +
          ': put {"X-API-Key": "<your key>"} in the Headers tab, then press the re-fetch schema ' +
          "button (or Shift-Ctrl-R). Settings > Persist headers keeps it across reloads."
      );
    }
  }

  // --- the fetcher ---------------------------------------------------------------------------------

  // A plain POST of JSON to our own endpoint; the headers editor's headers are sent along.
  function fetcher(params, options) {
    var headers = {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json, application/json",
    };
    var introspecting = params.operationName === INTROSPECTION_QUERY_NAME;
    var extra = (introspecting && currentHeaders()) || (options && options.headers) || {};
    Object.keys(extra).forEach(function (name) {
      headers[name] = extra[name];
    });
    var body = {};
    Object.keys(params).forEach(function (name) {
      body[name] = params[name];
    });
    var operationName = operationNameFor(params.query, params.operationName);
    if (operationName) body.operationName = operationName;
    else delete body.operationName;
    return fetch(endpoint, {
      method: "POST",
      headers: headers,
      body: JSON.stringify(body),
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json();
      })
      .then(function (result) {
        if (introspecting) explainIntrospection(result, extra);
        return result;
      });
  }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      defaultQuery: root.dataset.defaultQuery,
      isHeadersEditorEnabled: true,
      // Not set: headers are kept across reloads only once the user turns "Persist headers" on in
      // Settings (GraphiQL hides that switch, and ignores the stored choice, when this is false).
      shouldPersistHeaders: undefined,
      defaultEditorToolsVisibility: "headers",
      plugins: [GraphiQLPluginExplorer.explorerPlugin({ showAttribution: false })],
    })
  );
})();
