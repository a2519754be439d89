/* Peta Verval portal: helpers shared by every page (strings, numbers, API calls, classification, tables). */
(function () {
  "use strict";
  var P = {};

  P.t = function (key) {
    var s = window.PETA.t[key];
    return s === undefined ? key : s;
  };

  /* every element with data-t gets its string; elements with data-t-title get a tooltip */
  P.i18n = function (root) {
    (root || document).querySelectorAll("[data-t]").forEach(function (el) { el.textContent = P.t(el.dataset.t); });
  };

  P.fmt = function (v, digits) {
    if (v === null || v === undefined || (typeof v === "number" && isNaN(v))) { return "–"; }
    if (typeof v !== "number") { return String(v); }
    return v.toLocaleString(window.PETA.lang === "id" ? "id-ID" : "en-GB",
                            {maximumFractionDigits: digits === undefined ? 1 : digits});
  };

  /* a string with {name} placeholders filled from `values` */
  P.fill = function (template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return values[k] === undefined ? m : String(values[k]); });
  };

  P.esc = function (s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c];
    });
  };

  /* JSON from the API with the session cookie; writes carry the CSRF token; errors keep status, detail (in the
     interface language: the API words it by Accept-Language) and error_code (stable, for code to test) */
  P.api = function (url, opts) {
    opts = opts || {};
    var method = opts.method || "GET";
    var headers = {"Accept": "application/json", "Accept-Language": P.lang()};
    if (method !== "GET") {
      headers["X-CSRF-Token"] = window.PETA.csrf;
      headers["Content-Type"] = "application/json";
    }
    return fetch(url, {method: method, headers: headers, credentials: "same-origin",
                       body: opts.body === undefined ? undefined : JSON.stringify(opts.body)})
      .then(function (r) {
        return r.text().then(function (text) {
          var body = null;
          try { body = text ? JSON.parse(text) : null; } catch (e) { body = {detail: text}; }
          if (!r.ok) {
            var err = new Error((body && body.detail) || ("HTTP " + r.status));
            err.status = r.status;
            err.code = body && body.error_code;
            err.body = body;
            throw err;
          }
          return body;
        });
      });
  };

  /* the interface language as an Accept-Language value: API error details come back in it */
  P.lang = function () { return (window.PETA && window.PETA.lang) || "id"; };

  P.map = function () { return window[window.PETA.map]; };

  /* a two-column table of [string key, value] rows */
  P.facts = function (rows) {
    return "<table>" + rows.map(function (r) {
      return "<tr><th>" + P.esc(P.t(r[0])) + "</th><td>" + P.esc(r[1]) + "</td></tr>";
    }).join("") + "</table>";
  };

  /* a <select>'s options from [value, label] pairs, `current` selected */
  P.options = function (select, items, current) {
    select.innerHTML = items.map(function (i) {
      return "<option value='" + P.esc(i[0]) + "'" + (String(i[0]) === String(current) ? " selected" : "") + ">" +
             P.esc(i[1]) + "</option>";
    }).join("");
  };

  /* a timestamp (ms since navigation) other code and the browser tests can read */
  P.mark = function (name) {
    document.body.dataset[name] = String(Math.round(performance.now()));
  };

  P.status = function (text, kind) {
    var el = document.getElementById("status");
    if (!el) {
      el = document.createElement("div");
      el.id = "status";
      el.setAttribute("role", "status");
      document.getElementById("panel").prepend(el);
    }
    el.className = kind || "";
    el.textContent = text || "";
  };

  /* --- classification: upper bounds of the first k-1 classes ----------------------------------- */
  P.PALETTE = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];  // ColorBrewer YlOrRd: colour-blind safe
  P.SUPPRESSED = "#9e9e9e";
  P.NODATA = "#ffffff";

  function clean(values) {
    return values.filter(function (v) { return typeof v === "number" && isFinite(v); })
                 .sort(function (a, b) { return a - b; });
  }

  function uniq(xs) {
    var out = [];
    xs.forEach(function (x) { if (out.length === 0 || x > out[out.length - 1]) { out.push(x); } });
    return out;
  }

  /* a bound at the highest value would leave the class above it empty (every value the same: one class) */
  function below(breaks, sorted) {
    return breaks.filter(function (b) { return b < sorted[sorted.length - 1]; });
  }

  P.quantiles = function (values, k) {
    var v = clean(values);
    if (v.length === 0) { return []; }
    var out = [];
    for (var i = 1; i < k; i++) { out.push(v[Math.min(v.length - 1, Math.floor(i * v.length / k))]); }
    return below(uniq(out), v);
  };

  P.equal = function (values, k) {
    var v = clean(values);
    if (v.length === 0) { return []; }
    var lo = v[0], hi = v[v.length - 1], out = [];
    for (var i = 1; i < k; i++) { out.push(lo + (hi - lo) * i / k); }
    return below(uniq(out), v);
  };

  /* Fisher-Jenks natural breaks (on an even sample of at most 1,000 values, as GIS tools do) */
  P.jenks = function (values, k) {
    var v = clean(values);
    if (v.length > 1000) {
      var step = v.length / 1000, s = [];
      for (var q = 0; q < 1000; q++) { s.push(v[Math.floor(q * step)]); }
      v = s;
    }
    var n = v.length;
    if (n === 0) { return []; }
    // as many distinct values as classes or fewer (every value the same, above all): each its own class. The
    // dynamic programme below has no unique split then, and its walk back would step outside the table.
    var distinct = uniq(v);
    if (distinct.length <= k) { return distinct.slice(0, -1); }
    var lower = [], variance = [], i, j, m;
    for (i = 0; i <= n; i++) {
      lower.push(new Array(k + 1).fill(0));
      variance.push(new Array(k + 1).fill(Infinity));
    }
    for (j = 1; j <= k; j++) { lower[1][j] = 1; variance[1][j] = 0; }
    for (i = 2; i <= n; i++) {
      var sum = 0, sumsq = 0, w = 0, cost = 0;
      for (m = 1; m <= i; m++) {
        var low = i - m + 1, val = v[low - 1];
        w += 1; sum += val; sumsq += val * val;
        cost = sumsq - (sum * sum) / w;
        if (low > 1) {
          for (j = 2; j <= k; j++) {
            if (variance[i][j] >= cost + variance[low - 1][j - 1]) {
              lower[i][j] = low;
              variance[i][j] = cost + variance[low - 1][j - 1];
            }
          }
        }
      }
      lower[i][1] = 1;
      variance[i][1] = cost;
    }
    var out = [], idx = n;
    for (j = k; j >= 2; j--) {
      var start = lower[idx][j] - 1;
      out.unshift(v[start - 1]);
      idx = start;
    }
    return uniq(out.filter(function (x) { return x !== undefined; }));
  };

  /* zero as a class of its own, natural breaks over the values above it: on skewed figures (most RTs 0 or low, a
     few very high) quantiles put an RT at 88 % and one at 13 % in one class; this shows the poorest apart */
  P.zeroJenks = function (values, k) {
    var v = clean(values);
    if (v.length === 0 || v[0] !== 0 || v[v.length - 1] === 0) { return P.jenks(v, k); }
    var out = [0].concat(P.jenks(v.filter(function (x) { return x > 0; }), k - 1));
    out.zero = true;
    return out;
  };

  /* the classification methods, the default first: [method, string key] */
  P.METHODS = [["zero_jenks", "zero_jenks"], ["jenks", "jenks"], ["quantile", "quantile"], ["equal", "equal"]];

  /* the upper bounds of the classes; with no bound (one class) `.only` is the value every area has, if they have
     one, for the legend to say why there is a single class */
  P.classify = function (values, method, k) {
    var f = {jenks: P.jenks, equal: P.equal, quantile: P.quantiles}[method] || P.zeroJenks;
    var out = f(values, k || 5), v = clean(values);
    if (!out.length && v.length && v[0] === v[v.length - 1]) { out.only = v[0]; }
    return out;
  };

  P.classOf = function (v, breaks) {
    for (var i = 0; i < breaks.length; i++) { if (v <= breaks[i]) { return i; } }
    return breaks.length;
  };

  /* one legend row: a swatch (fill, or an outline: colour and dashed) and its text */
  P.swatch = function (label, fill, outline, dashed) {
    var style = outline ? "background:transparent;border:2px " + (dashed ? "dashed " : "solid ") + outline : "background:" + fill;
    return "<div><i style='" + style + "'></i>" + P.esc(label) + "</div>";
  };

  /* the classes of `breaks` (colours: `more.palette`, default P.PALETTE), then `extra` fills ([colour, text]);
     `more.method` names the classification under the title, `more.outlines` ([colour, dashed, text]) says what
     the outlines mean */
  P.legend = function (el, title, breaks, digits, extra, more) {
    more = more || {};
    var palette = more.palette || P.PALETTE, rows = [], lo = null, note = "";
    // the method named in the selector's words; what it came to on these figures said after it
    if (!breaks.length) {
      note = P.t(breaks.only === undefined ? "class_none" : "class_single");
    } else if (more.method === "zero_jenks" && !breaks.zero) {
      note = P.t("zero_none");
    }
    for (var i = 0; i <= breaks.length; i++) {
      var hi = i < breaks.length ? breaks[i] : null;
      var label = lo === null ? ((breaks.zero ? "" : "≤ ") + P.fmt(hi, digits)) : hi === null ? ("> " + P.fmt(lo, digits))
                : ((breaks.zero && i === 1 ? "> " : "") + P.fmt(lo, digits) + " – " + P.fmt(hi, digits));
      if (breaks.length === 0) {  // one class: the value every area has, or no value at all (no swatch then)
        if (breaks.only === undefined) { break; }
        label = P.fmt(breaks.only, digits);
      }
      rows.push(P.swatch(label, palette[i]));
      lo = hi;
    }
    (extra || []).forEach(function (e) { rows.push(P.swatch(e[1], e[0])); });
    var outlines = (more.outlines || []).map(function (o) { return P.swatch(o[2], null, o[0], o[1]); });
    el.innerHTML = "<b>" + P.esc(title) + "</b>" +
                   (more.method ? "<div class='method'>" + P.esc(P.t("classes") + ": " + P.t(more.method)) + "</div>" : "") +
                   (note ? "<div class='method note'>" + P.esc(note) + "</div>" : "") +
                   rows.join("") + (outlines.length ? "<b>" + P.esc(P.t("outlines")) + "</b>" + outlines.join("") : "");
    el.dataset.classes = String(breaks.length ? breaks.length + 1 : breaks.only === undefined ? 0 : 1);
  };

  /* an area's cell in a table: its name ("RT 007" whole on one line), then, smaller, its kelurahan (an RT's name
     repeats in every kelurahan) and its full code, which may break after the kelurahan's part */
  P.area = function (name, kelurahan, code) {
    name = String(name === null || name === undefined ? "" : name);
    // a short name ("RT 007") is never broken; a long kelurahan's or kecamatan's may wrap rather than widen the table
    return "<span class='" + (name.length <= 16 ? "nowrap" : "name") + "'>" + P.esc(name) + "</span>" +
           (kelurahan ? "<span class='sub kel'>" + P.esc(kelurahan) + "</span>" : "") +
           (code ? "<span class='sub code'>" + P.esc(code.slice(0, 14)) + (code.length > 14 ? "<wbr>" + P.esc(code.slice(14)) : "") +
                   "</span>" : "");
  };
  /* a full code in a table cell: it may break after its kelurahan part, never elsewhere */
  P.code = function (code) {
    return P.esc(code.slice(0, 14)) + (code.length > 14 ? "<wbr>" + P.esc(code.slice(14)) : "");
  };

  /* --- tables ----------------------------------------------------------------------------------- */
  /* columns: [{key, label, digits, render}]; rows: objects with a code (and _class; _selected where rows are
     selected). opts.label names the table (its caption, and the scrolling region around it, which takes the
     keyboard focus to scroll); opts.state ({key, dir, row}) keeps the sort and the row holding the Tab stop
     across tables the caller draws again. Each header is a button: it sorts (again: reverses), aria-sort says
     how. With onRow the rows take one Tab stop: the arrow keys, Home and End move between them, Enter or Space
     chooses one as a click does. The header or row that had the focus keeps it when the table is drawn again. */
  P.table = function (el, columns, rows, onRow, opts) {
    opts = opts || {};
    var state = opts.state || {key: null, dir: 1, row: null};
    el.setAttribute("role", "region");
    el.setAttribute("aria-label", opts.label);
    el.tabIndex = 0;
    function draw() {
      var active = el.contains(document.activeElement) ? document.activeElement : null;
      var focusKey = active && active.dataset.sort, focusRow = active && active.closest("tbody tr");
      if (focusRow) { state.row = focusRow.dataset.code; }  // a row, or a button in one
      var sorted = rows.slice();
      if (state.key) {
        sorted.sort(function (a, b) {
          var x = a[state.key], y = b[state.key];
          if (x === y) { return 0; }
          if (x === null || x === undefined) { return 1; }
          if (y === null || y === undefined) { return -1; }
          return (x < y ? -1 : 1) * state.dir;
        });
      }
      var stop = sorted.some(function (r) { return String(r.code) === state.row; }) ? state.row
               : sorted.length ? String(sorted[0].code) : null;
      var head = columns.map(function (c) {
        var on = state.key === c.key;
        return "<th scope='col'" + (on ? " aria-sort='" + (state.dir > 0 ? "ascending" : "descending") + "'" : "") +
               "><button type='button' data-sort='" + P.esc(c.key) + "'" +
               (c.title ? " title='" + P.esc(c.title) + "' aria-label='" + P.esc(c.title) + "'" : "") + ">" + P.esc(c.label) +
               (on ? "<span aria-hidden='true'>" + (state.dir > 0 ? " ▲" : " ▼") + "</span>" : "") + "</button></th>";
      }).join("");
      var body = sorted.map(function (r) {
        return "<tr data-code='" + P.esc(r.code) + "' class='" + (r._class || "") + "'" +
               (onRow ? " tabindex='" + (String(r.code) === stop ? "0" : "-1") + "'" : "") +
               (r._selected === undefined ? "" : " aria-selected='" + (r._selected ? "true" : "false") + "'") + ">" +
               columns.map(function (c) {
                 return "<td>" + (c.render ? c.render(r) : P.fmt(r[c.key], c.digits)) + "</td>";
               }).join("") + "</tr>";
      }).join("");
      el.innerHTML = "<table class='grid'><caption class='sr-only'>" + P.esc(opts.label) + "</caption><thead><tr>" +
                     head + "</tr></thead><tbody>" + body + "</tbody></table>";
      el.querySelector("thead").addEventListener("click", function (ev) {
        var b = ev.target.closest("button");
        if (!b) { return; }
        state.dir = state.key === b.dataset.sort ? -state.dir : 1;
        state.key = b.dataset.sort;
        draw();
      });
      if (onRow) { rowKeys(el.querySelector("tbody")); }
      // a row that takes the focus brings the table's first columns (what the row is) into view, not its last
      el.querySelector("tbody").addEventListener("focusin", function (ev) {
        if (ev.target.tagName === "TR") { el.scrollLeft = 0; }
      });
      var again = focusKey ? el.querySelector("th button[data-sort='" + focusKey + "']")
                : focusRow ? el.querySelector("tbody tr[tabindex='0']") : null;  // the same row, or the new stop
      if (again) { again.focus(); }
    }
    function rowKeys(tbody) {
      function choose(tr, ev) { state.row = tr.dataset.code; onRow(tr.dataset.code, ev); }
      tbody.addEventListener("click", function (ev) {
        var tr = ev.target.closest("tr");
        if (tr) { choose(tr, ev); }
      });
      tbody.addEventListener("keydown", function (ev) {
        var tr = ev.target;
        if (tr.tagName !== "TR") { return; }  // a button in a row answers its own keys
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          choose(tr, ev);
          return;
        }
        var all = tbody.rows, i = tr.sectionRowIndex;
        var to = {ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: all.length - 1, PageDown: i + 10, PageUp: i - 10}[ev.key];
        if (to === undefined) { return; }
        ev.preventDefault();
        var next = all[Math.max(0, Math.min(all.length - 1, to))];
        tr.tabIndex = -1;
        next.tabIndex = 0;
        state.row = next.dataset.code;
        next.focus();
      });
    }
    draw();
  };

  P.csv = function (filename, columns, rows) {
    function cell(v) {
      var s = v === null || v === undefined ? "" : String(v);
      // as core/csvsafe.py: text that a spreadsheet would read as a formula gets a leading quote;
      // numbers (a negative count) stay numbers
      if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = "'" + s;
      return /[",\n\r;]/.test(s) ? "\"" + s.replace(/"/g, "\"\"") + "\"" : s;
    }
    var lines = [columns.map(function (c) { return cell(c.key); }).join(",")];
    rows.forEach(function (r) { lines.push(columns.map(function (c) { return cell(r[c.key]); }).join(",")); });
    var blob = new Blob([lines.join("\n") + "\n"], {type: "text/csv;charset=utf-8"});
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();  // an empty link left on the page is a nameless link to assistive technology
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  };

  /* the map's vector canvas (no base tiles, so it is never tainted) as a PNG file */
  P.saveImage = function (filename) {
    var canvas = P.map().getPane("overlayPane").querySelector("canvas");
    if (!canvas) { return false; }
    var a = document.createElement("a");
    a.href = canvas.toDataURL("image/png");
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    return true;
  };

  /* the map is a region of its own, named: what it draws on its canvas the panel also gives as text and tables;
     Leaflet names its zoom buttons in English whatever the page's language */
  document.addEventListener("DOMContentLoaded", function () {
    var map = window.PETA && P.map();
    if (!map) { return; }
    L.control.scale({ imperial: false }).addTo(map);  // metres only (Folium's scale adds miles and feet)
    var box = map.getContainer();
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", P.t("map"));
    [["in", "zoom_in"], ["out", "zoom_out"]].forEach(function (z) {
      var button = box.querySelector(".leaflet-control-zoom-" + z[0]);
      if (button) { button.title = P.t(z[1]); button.setAttribute("aria-label", P.t(z[1])); }
    });
  });

  /* the language switch keeps the page's state (level, parent, campaign...) kept in the query string */
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a.lang");
    if (!a) { return; }
    ev.preventDefault();
    var q = new URLSearchParams(location.search);
    q.set("lang", new URLSearchParams(a.getAttribute("href").slice(1)).get("lang"));
    location.search = q.toString();
  });

  /* logging out forgets what the offline page kept (families' data on the phone); unsent visits stay */
  document.addEventListener("submit", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("logout") && window.caches) {
      caches.keys().then(function (keys) { keys.forEach(function (k) { caches.delete(k); }); });
    }
  });

  window.P = P;
})();
