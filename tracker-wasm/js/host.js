/* The browser side of the tag: storage, requests, timers, the page listeners and the popup.
   The Rust module keeps the state and the logic and calls the mk_* functions below; they call
   back into its exports (tick, answer, page_event, download, kind, convert, popup_event,
   popup_submit). The build inlines this file into the glue module, so those exports are in
   scope. Nothing here throws into the page: every function the module calls catches, and every
   entry point from the browser (listeners, timers, promise callbacks) is guarded. */

const mkW = window, mkD = document, mkIgnore = "[data-mikomi-ignore]";

/* Wraps a browser callback so that nothing it does can reach the page's error handlers. */
function mkGuard(f) {
  return function (a) {
    try {
      f(a);
    } catch (e) {}
  };
}

export function mk_now() {
  return Date.now();
}

/* 0: the page's URL, 1: its title, 2: its referrer, 3: its cookies, 4: its language; null
   when unavailable. */
export function mk_str(k) {
  try {
    var v = [location.href, mkD.title, mkD.referrer, mkD.cookie, mkD.documentElement.lang][k];
    return typeof v == "string" ? v : null;
  } catch (e) {
    return null;
  }
}

export function mk_visible() {
  try {
    return mkD.visibilityState == "visible";
  } catch (e) {
    return false;
  }
}

export function mk_load(k) {
  try {
    return localStorage.getItem(k);
  } catch (e) {
    return null;
  }
}

/* Stores a value, or removes the key when the value is null. */
export function mk_store(k, v) {
  try {
    v == null ? localStorage.removeItem(k) : localStorage.setItem(k, v);
  } catch (e) {}
}

export function mk_set_cookie(c) {
  try {
    mkD.cookie = c;
  } catch (e) {}
}

/* Replaces the address bar's URL, keeping the history state. */
export function mk_replace(u) {
  try {
    history.replaceState(history.state, "", u);
  } catch (e) {}
}

export function mk_later(ms) {
  try {
    setTimeout(mkGuard(tick), ms);
  } catch (e) {}
}

/* Posts a batch; the answer goes to the module's `answer` (status 0: network error). Returns
   false when the request could not even be started. */
export function mk_post(u, body) {
  try {
    fetch(u, { method: "POST", body: body, credentials: "include", keepalive: true }).then(
      function (r) {
        return r.text().then(
          function (t) {
            mkAnswer(r.status, t);
          },
          function () {
            mkAnswer(r.status);
          }
        );
      },
      function () {
        mkAnswer(0);
      }
    )["catch"](function () {});
    return true;
  } catch (e) {
    return false;
  }
}

/* Queues a batch with the browser, which sends it even after the page has gone. */
export function mk_beacon(u, body) {
  try {
    return !!navigator.sendBeacon(u, body);
  } catch (e) {
    return false;
  }
}

function mkAnswer(status, text) {
  try {
    var b, ok = text != null, s = function (o, k) {
      return o && typeof o == "object" && typeof o[k] == "string" ? o[k] : null;
    };
    try {
      b = JSON.parse(text);
    } catch (e) {
      ok = false;
    }
    var p = b && b.popup;
    if (answer(status, s(b && b.error, "code"), s(b, "vid"), ok) && p && typeof p == "object") {
      mkPopup(p);
    }
  } catch (e) {}
}

/* The page listeners: passive, and none ever calls preventDefault, so the site's own handlers
   and submits run exactly as without the tag. */
export function mk_listen() {
  try {
    var on = function (t, k, f, c) {
      t.addEventListener(k, mkGuard(f), { capture: !!c, passive: true });
    };
    on(mkD, "submit", mkSubmit, 1);
    on(mkD, "click", mkClick, 1);
    /* A field that was ever a password stays one, even after a "show password" box has
       made it a text field. */
    mkD.querySelectorAll("input[type=password]").forEach(mkPwSeen);
    ["focusin", "input"].forEach(function (k) {
      on(mkD, k, function (e) {
        mkPwSeen(e.target);
      }, 1);
    });
    on(mkD, "visibilitychange", function () {
      page_event(mk_visible() ? 0 : 1);
    });
    on(mkW, "pagehide", function () {
      page_event(1);
    });
    ["popstate", "hashchange"].forEach(function (k) {
      on(mkW, k, function () {
        page_event(2);
      });
    });
    on(mkW, "online", function () {
      page_event(3);
    });
  } catch (e) {}
}

function mkClick(e) {
  var t = e.target, a = t instanceof Element && t.closest("a[href]");
  if (a && typeof a.href == "string" && !a.closest(mkIgnore)) download(a.href);
}

const mkPw = new WeakSet();

function mkPwSeen(el) {
  if (el instanceof HTMLInputElement && el.type == "password") mkPw.add(el);
}

/* An element's text, spaces collapsed, bounded. */
function mkText(n) {
  return n ? (n.textContent || "").replace(/\s+/g, " ").trim().slice(0, 80) : "";
}

/* What a person reads as a control's label: its <label>s, aria-labelledby, aria-label,
   placeholder and title, the <th> of its table row, the <dt> before its <dd>, and the text
   just before it (climbing out of up to two wrappers that hold nothing else). */
function mkLabel(el) {
  var l = [], k, ids = (el.getAttribute("aria-labelledby") || "").split(" "), r, p, n, t;
  if (el.labels) for (k = 0; k < el.labels.length; k++) l.push(mkText(el.labels[k]));
  for (k = 0; k < ids.length; k++) if (ids[k]) l.push(mkText(mkD.getElementById(ids[k])));
  ["aria-label", "placeholder", "title"].forEach(function (a) {
    l.push(el.getAttribute(a) || "");
  });
  r = el.closest("tr");
  if (r && r.querySelector("th")) l.push(mkText(r.querySelector("th")));
  r = el.closest("dd");
  p = r && r.previousElementSibling;
  if (p && p.tagName == "DT") l.push(mkText(p));
  for (n = el, k = 0; n && k < 3; n = n.parentElement, k++) {
    for (p = n.previousSibling; p; p = p.previousSibling) {
      if (p.nodeType == 1 && (p.matches("input,select,textarea") || p.querySelector("input,select,textarea"))) break;
      t = mkText(p);
      if (t) break;
    }
    if (t || p) break;
  }
  if (t) l.push(t);
  return l.join(" ");
}

/* Whether a person can see a control. 2: a decoy no person can see or reach, never read:
   invisible or transparent, off the page (in page coordinates: a control merely scrolled out
   of view is visible), a pixel wide, hidden from assistive technology, or out of the tab
   order with autofill turned off. 1: not rendered at all (display: none), as honeypots are
   but also the earlier steps of a multi-step form: read only for a detail no visible control
   gave. 0: visible. */
function mkHidden(el) {
  var r = el.getBoundingClientRect(), ac = el.getAttribute("autocomplete") || "", c = el.checkVisibility;
  if (c && !el.checkVisibility()) return 1;
  return (c && !el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) ||
    r.width < 2 || r.height < 2 || r.right + scrollX <= 0 || r.bottom + scrollY <= 0 ||
    r.left + scrollX >= mkD.documentElement.scrollWidth ||
    el.closest("[aria-hidden=true]") ||
    (el.getAttribute("tabindex") == "-1" && /^(off|new-password)$/i.test(ac.trim())) ? 2 : 0;
}

/* A submitted form: the module classifies each control; only the values of mapped,
   non-sensitive controls are read. Each goes with its name, so that the parts of one value (a
   phone over three inputs) can be joined, and with whether it is rendered. */
function mkSubmit(e) {
  var f = e.target, v = [], i, el, k, a, h;
  if (!(f instanceof HTMLFormElement) || f.closest(mkIgnore)) return;
  for (i = 0; i < f.elements.length; i++) {
    el = f.elements[i];
    a = function (n) {
      return el.getAttribute(n) || "";
    };
    if (!/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) continue;
    h = mkHidden(el);
    k = kind(el.tagName.toLowerCase(), mkPw.has(el) ? "password" : a("type"), a("name"), a("id"), a("autocomplete"), mkLabel(el), !!el.closest(mkIgnore) || h > 1);
    if (k && typeof el.value == "string") v.push(k, el.value, a("name"), h);
  }
  convert(f.getAttribute("data-mikomi-form"), f.getAttribute("id"), f.getAttribute("name"), v);
}

/* The popup the edge chose, inside a shadow root so that the site's CSS cannot break it. Every
   string from the network is set as text or as an attribute value, never as HTML. The dialog
   is modal for assistive technology, takes focus, keeps Tab inside, closes on Esc and on its
   close button, and gives focus back where it was. */
var mkOpen = null;

const mkCss = ":host{all:initial}" +
  ".o{position:fixed;inset:0;z-index:2147483647;display:flex;align-items:center;justify-content:center;" +
  "background:rgba(0,0,0,.45);font:15px/1.6 system-ui,-apple-system,'Hiragino Sans','Noto Sans JP',Meiryo,sans-serif}" +
  ".d{position:relative;box-sizing:border-box;width:min(440px,calc(100vw - 24px));max-height:calc(100vh - 24px);" +
  "overflow:auto;padding:20px;border-radius:10px;background:#fff;color:#1a1a1a;box-shadow:0 8px 32px rgba(0,0,0,.3)}" +
  "h2{margin:0 36px 8px 0;font-size:18px;line-height:1.4}p{margin:0 0 12px;white-space:pre-line}" +
  "label{display:block;margin:10px 0 2px;font-size:13px}" +
  "input{box-sizing:border-box;width:100%;padding:8px;border:1px solid #888;border-radius:6px;font:inherit}" +
  ".s{width:100%;margin-top:16px;padding:10px;border:0;border-radius:6px;background:#0b5cad;color:#fff;font:inherit;cursor:pointer}" +
  ".x{position:absolute;top:8px;right:8px;width:36px;height:36px;border:0;background:none;color:#333;font-size:24px;cursor:pointer}" +
  "a{display:inline-block;margin-top:10px;color:#0b5cad;font-size:12px}" +
  ":focus-visible{outline:3px solid #f59e0b;outline-offset:2px}";

/* The fixed structure: ours and static, so it may be parsed as HTML. */
const mkHtml = "<style></style><div class=o><div class=d role=dialog aria-modal=true aria-labelledby=mk-t>" +
  "<button type=button class=x id=mk-x>\u00d7</button><h2 id=mk-t></h2><p id=mk-b></p>" +
  "<form id=mk-f><button type=submit class=s id=mk-s></button></form>" +
  "<a id=mk-p target=_blank rel='noopener noreferrer' hidden></a></div></div>";

function mkPopup(p) {
  var rule = p.rule, variant = p.variant;
  if (mkOpen || typeof rule != "string" || typeof variant != "string") return;
  var str = function (o, k) {
      var v = o && o[k];
      return typeof v == "string" && v ? v : "";
    },
    lang = mkD.documentElement.getAttribute("lang"),
    ja = /^ja/.test(lang || ""),
    host = mkD.createElement("div"),
    root = host.attachShadow({ mode: "open" }),
    by = function (id) {
      return root.getElementById(id);
    },
    el = function (t) {
      return mkD.createElement(t);
    },
    close = (root.innerHTML = mkHtml, by("mk-x")),
    dialog = close.parentNode,
    form = by("mk-f"),
    submit = by("mk-s"),
    priv = by("mk-p"),
    fields = Array.isArray(p.fields) ? p.fields.slice(0, 10) : [],
    focusable = [close],
    inputs = [],
    t = str(p, "body"),
    url = str(p, "privacy_url");
  host.setAttribute("data-mikomi-popup", "");
  root.firstChild.textContent = mkCss;
  if (lang) dialog.setAttribute("lang", lang);
  close.setAttribute("aria-label", ja ? "\u9589\u3058\u308b" : "Close");
  by("mk-t").textContent = str(p, "title");
  if (t) {
    by("mk-b").textContent = t;
    dialog.setAttribute("aria-describedby", "mk-b");
  } else by("mk-b").remove();
  fields.forEach(function (f, i) {
    var name = str(f, "name"), label = el("label"), input = el("input"), id = "mk-f" + i;
    if (!name) return;
    label.textContent = str(f, "label") || name;
    label.setAttribute("for", id);
    input.id = id;
    input.name = name;
    input.type = f.type == "email" || f.type == "tel" ? f.type : "text";
    input.autocomplete = { email: "email", name: "name", company: "organization", phone: "tel", title: "organization-title" }[name] || "on";
    input.required = f.required === true;
    form.insertBefore(label, submit);
    form.insertBefore(input, submit);
    focusable.push(input);
    inputs.push([name, input]);
  });
  submit.textContent = str(p, "submit") || (ja ? "\u9001\u4fe1" : "Submit");
  focusable.push(submit);
  if (/^https?:\/\//i.test(url)) {
    priv.textContent = ja ? "\u30d7\u30e9\u30a4\u30d0\u30b7\u30fc\u30dd\u30ea\u30b7\u30fc" : "Privacy policy";
    priv.href = url;
    priv.hidden = false;
    focusable.push(priv);
  } else priv.remove();

  close.addEventListener("click", mkGuard(function () {
    mkClose(1);
  }));
  form.addEventListener("submit", mkGuard(function (e) {
    e.preventDefault();
    var v = [];
    inputs.forEach(function (x) {
      v.push(x[0], x[1].value);
    });
    popup_submit(rule, variant, v);
    mkClose(0);
  }));
  dialog.addEventListener("keydown", mkGuard(function (e) {
    var a = root.activeElement, first = focusable[0], last = focusable[focusable.length - 1], to;
    if (e.key == "Escape") {
      e.preventDefault();
      mkClose(1);
    } else if (e.key == "Tab") {
      if (e.shiftKey && (a == first || !a)) to = last;
      if (!e.shiftKey && (a == last || !a)) to = first;
      if (to) {
        e.preventDefault();
        to.focus();
      }
    }
  }));

  var before = mkD.activeElement;
  mkD.body.appendChild(host);
  mkOpen = { rule: rule, variant: variant, host: host, before: before };
  /* The first field, or the close button when there is none. */
  (focusable[1] || close).focus();
  popup_event(rule, variant, 0);
}

/* Removes the popup and gives focus back; action 1: the visitor closed it, which is reported. */
function mkClose(action) {
  var o = mkOpen;
  if (!o) return;
  mkOpen = null;
  o.host.remove();
  if (o.before && o.before.focus) o.before.focus();
  if (action) popup_event(o.rule, o.variant, 1);
}
