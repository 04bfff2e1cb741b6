// Client-side tabs: each tab is its own URL through history.pushState, as single-page apps do.
(function () {
  var panel = document.getElementById("panel");
  var text = {
    overview: panel.innerHTML,
    specs: document.documentElement.lang === "ja"
      ? "<p>対応ブラウザ: 最新の Chrome / Edge / Safari / Firefox。タグのサイズ: gzip で数十 KB。</p>"
      : "<p>Browsers: current Chrome, Edge, Safari and Firefox. Tag size: a few tens of KB gzipped.</p>",
  };
  function show(tab) {
    panel.innerHTML = text[tab] || text.overview;
  }
  document.querySelectorAll("[data-tab]").forEach(function (b) {
    b.addEventListener("click", function () {
      var tab = b.getAttribute("data-tab");
      document.title = b.getAttribute("data-title");
      history.pushState({ tab: tab }, "", "?tab=" + tab);
      show(tab);
    });
  });
  window.addEventListener("popstate", function (e) {
    show(e.state && e.state.tab);
  });
})();
