// Starts GraphiQL on #graphiql. Settings come from its data- attributes, so the page
// needs no inline script and runs under "script-src 'self'".
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  // The dialogs' scroll lock adds a <style>; the page's CSP admits it by this nonce.
  window.__webpack_nonce__ = root.dataset.styleNonce;

  // Send the session cookie (qid) explicitly: the API is on this origin, never elsewhere.
  function sameOriginFetch(input, init) {
    return window.fetch(input, Object.assign({}, init, { credentials: "same-origin" }));
  }

  var fetcher = window.GraphiQL.createFetcher({
    url: root.dataset.endpoint,
    fetch: sameOriginFetch,
  });
  window.ReactDOM.createRoot(root).render(
    window.React.createElement(window.GraphiQL, {
      fetcher: fetcher,
      defaultQuery: root.dataset.defaultQuery,
    })
  );
})();
