/* Mikomi loader. Queues window.mikomi(...) calls, loads the tag's wasm module and hands them
   over. It never throws into the page: without WebAssembly, or on any failure, it does nothing.
   The edge replaces the __MIKOMI_*__ tokens with paths relative to this script. */
(function (w, d, h) {
  try {
    var s = d.currentScript, site = s && s.getAttribute("data-site"), m = w.mikomi;
    if (!site || (m && m.v)) return;
    var q = (m && m.q) || [];
    m = w.mikomi = function () { q.push(arguments); };
    m.q = q;
    m.v = 1;
    if (typeof WebAssembly != "object" || !w.URL) return;
    var u = function (p) { return new URL(p, s.src).href; };
    import(u("__MIKOMI_GLUE__")).then(function (g) {
      return g.default({ module_or_path: u("__MIKOMI_WASM__") }).then(function () {
        var call = function (f, a) { try { f(a); } catch (e) {} };
        call(function () { g.start(site, u("__MIKOMI_COLLECT__")); });
        ["pushState", "replaceState"].forEach(function (k) {
          var o = h[k];
          h[k] = function () {
            var r = o.apply(this, arguments);
            call(g.nav);
            return r;
          };
        });
        var f = w.mikomi = function () { call(g.cmd, [].slice.call(arguments)); };
        f.v = 1;
        while (q.length) f.apply(w, q.shift());
      });
    })["catch"](function () {});
  } catch (e) {}
})(window, document, history);
