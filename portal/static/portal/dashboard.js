/* Dasbor: a campaign's progress over time (visits per period, families verified and coverage % to date),
   coverage by kecamatan and visits by verifier, drawn as SVG charts from /api/v1/campaigns/{id}/progress
   and /coverage (a coordinator's: the areas of their scope), each chart's figures downloadable as CSV. */
function PETA_PAGE() {
  "use strict";
  var t = P.t, el = function (id) { return document.getElementById(id); };
  document.body.classList.add("no-map");
  // the charts are the page's main content: a named region of the main landmark, focusable to scroll
  var main = document.createElement("section");
  main.id = "charts";
  main.tabIndex = 0;
  main.setAttribute("aria-label", t("charts"));
  el("panel").appendChild(main);
  P.i18n(el("panel"));
  var q = new URLSearchParams(location.search);
  var state = {campaign: q.get("campaign"), by: q.get("by") || "week"};
  P.options(el("by"), ["day", "week", "month"].map(function (b) { return [b, t(b)]; }), state.by);

  var NS = "http://www.w3.org/2000/svg";
  var charts = 0;
  /* an image whose text alternative is its title (the name) and every figure it draws (the description) */
  function svg(w, h, title, description) {
    var s = document.createElementNS(NS, "svg"), id = "chart-" + (++charts);
    s.setAttribute("viewBox", "0 0 " + w + " " + h);
    s.setAttribute("width", "100%");
    s.setAttribute("role", "img");
    s.setAttribute("aria-labelledby", id + "-title");
    s.setAttribute("aria-describedby", id + "-desc");
    add(s, "title", {id: id + "-title"}, title);
    add(s, "desc", {id: id + "-desc"}, description);
    return s;
  }
  function add(parent, tag, attrs, text) {
    var n = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) { n.textContent = text; }
    parent.appendChild(n);
    return n;
  }
  /* what a chart shows in words, in the interface language: each category with its bar (and line) figure */
  function figures(labels, bars, line, barLabel, lineLabel, empty) {
    if (!labels.length) { return t(empty || "no_value"); }
    return labels.map(function (label, i) {
      return label + ": " + barLabel + " " + P.fmt(bars[i], 0) + (line ? ", " + lineLabel + " " + P.fmt(line[i], 1) : "");
    }).join("; ");
  }
  /* a readable step for about five ticks up to `max`: 1, 2 or 5 times a power of ten */
  function niceStep(max) {
    var raw = Math.max(max, 1) / 5, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    return Math.max(1, (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p);
  }
  /* bars (left axis, ticked in the interface language's numbers) and an optional line (right axis, 0..100 %)
     over labelled categories; each axis named; the drawing's box grows to hold every label (none clipped);
     a button downloads the figures drawn as CSV */
  function chart(o) {
    var W = 900, H = 330, L0 = 70, R0 = o.line ? 70 : 20, T0 = 20, B0 = 100, w = W - L0 - R0, h = H - T0 - B0;
    var box = document.createElement("section"), labels = o.labels, bars = o.bars, line = o.line;
    box.className = "chart";
    box.innerHTML = "<h2>" + P.esc(o.title) + "</h2>";
    var s = svg(W, H, o.title, figures(labels, bars, line, o.barLabel, o.lineLabel, o.empty));
    // counts: at least 0..5, so that small figures still get a readable scale of whole numbers
    var top = Math.max.apply(null, bars.concat([5])), step = niceStep(top), max = step * Math.ceil(top / step);
    var slot = w / Math.max(labels.length, 1);
    for (var v = 0; v <= max + step / 2; v += step) {
      var y = T0 + h - h * v / max;
      add(s, "line", {x1: L0, y1: y, x2: L0 + w, y2: y, stroke: v ? "#e3e3e3" : "#888"});
      add(s, "text", {x: L0 - 6, y: y + 4, "text-anchor": "end", "font-size": 11, "class": "tick-y"}, P.fmt(v, 0));
    }
    add(s, "text", {x: 14, y: T0 + h / 2, "text-anchor": "middle", "font-size": 12, "class": "axis-y",
                    transform: "rotate(-90 14 " + (T0 + h / 2) + ")"}, o.barLabel);
    var ticksX = add(s, "g", {"class": "ticks-x"});
    bars.forEach(function (v, i) {
      var bh = h * v / max;
      add(s, "rect", {x: L0 + i * slot + slot * 0.15, y: T0 + h - bh, width: slot * 0.7, height: bh, fill: "#fd8d3c",
                      "data-value": v}).appendChild(document.createElementNS(NS, "title")).textContent = labels[i] + ": " + P.fmt(v, 0);
      if (labels.length <= 20 || i % Math.ceil(labels.length / 20) === 0) {
        var x = L0 + i * slot + slot / 2;
        add(ticksX, "text", {x: x, y: T0 + h + 14, "text-anchor": "end", "font-size": 10, "class": "tick-x",
                        transform: "rotate(-35 " + x + " " + (T0 + h + 14) + ")"}, labels[i]);
      }
    });
    if (line) {
      var pts = line.map(function (v, i) { return (L0 + i * slot + slot / 2) + "," + (T0 + h - h * (v || 0) / 100); });
      add(s, "polyline", {points: pts.join(" "), fill: "none", stroke: "#243b55", "stroke-width": 2.5});
      [0, 25, 50, 75, 100].forEach(function (p) {
        add(s, "text", {x: L0 + w + 6, y: T0 + h - h * p / 100 + 4, "font-size": 11, "class": "tick-y2"}, P.fmt(p, 0) + " %");
      });
      var xr = W - 10;
      add(s, "text", {x: xr, y: T0 + h / 2, "text-anchor": "middle", "font-size": 12, "class": "axis-y2",
                      transform: "rotate(90 " + xr + " " + (T0 + h / 2) + ")"}, o.lineLabel);
    }
    if (!labels.length) {  // nothing to draw: the chart says so where its bars would be
      add(s, "text", {x: L0 + w / 2, y: T0 + h / 2, "text-anchor": "middle", "font-size": 16, fill: "#424242", "class": "empty"},
          t(o.empty || "no_value"));
    }
    var legend = "<p class='hint'><i class='sw bar'></i>" + P.esc(o.barLabel) + (line ? " · <i class='sw line'></i>" + P.esc(o.lineLabel) : "") + "</p>";
    box.appendChild(s);
    box.insertAdjacentHTML("beforeend", legend);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "chart-csv";
    button.textContent = t("csv");
    button.setAttribute("aria-label", t("csv") + ": " + o.title);
    button.onclick = function () { P.csv(o.file, o.columns, o.rows); };
    box.appendChild(button);
    main.appendChild(box);
    // the category axis is named under its (rotated) labels, however long they are
    var under = labels.length ? ticksX.getBBox() : {y: T0 + h, height: 0};
    add(s, "text", {x: L0 + w / 2, y: Math.max(H - 4, under.y + under.height + 16), "text-anchor": "middle", "font-size": 12,
                    "class": "axis-x"}, o.xLabel);
    // a rotated label (the first one above all) may reach past the drawing: grow the box to hold everything drawn
    var b = s.getBBox(), x0 = Math.min(0, Math.floor(b.x) - 2), y0 = Math.min(0, Math.floor(b.y) - 2);
    s.setAttribute("viewBox", [x0, y0, Math.max(W, Math.ceil(b.x + b.width) + 2) - x0,
                               Math.max(H, Math.ceil(b.y + b.height) + 2) - y0].join(" "));
  }

  /* the areas the coverage chart shows: the whole kab/kota by kecamatan for the unbounded, else the areas one
     level below each area of the caller's scope (the API bounds the figures to the scope all the same) */
  function areaQueries() {
    var user = window.PETA.user, scope = user && user.role !== "admin" ? user.scope || [] : [];
    if (!scope.length) { return [{level: "kecamatan", url: "level=kecamatan"}]; }
    return scope.map(function (code) {
      var parts = code.split(".").length;
      var level = parts <= 2 ? "kecamatan" : parts === 3 ? "kelurahan" : "rt";
      return {level: level, url: "level=" + level + (parts <= 4 ? "&parent=" + encodeURIComponent(code) : "")};
    });
  }
  /* an area's name on the axis: an RT's ("RT 005") repeats in every RW, so it is named by its RW and RT */
  function areaLabel(r, level) {
    var parts = r.code.split(".");
    return level === "rt" && parts.length === 6 ? "RW " + parts[4] + " RT " + parts[5] : r.name;
  }

  function draw() {
    main.innerHTML = "";
    var c = state.campaign, areas = areaQueries(), level = areas[0].level;
    history.replaceState(null, "", "?" + new URLSearchParams({campaign: c, by: state.by, lang: window.PETA.lang}).toString());
    var coverage = areas.map(function (a) { return P.api("/api/v1/campaigns/" + c + "/coverage?" + a.url); });
    return Promise.all([P.api("/api/v1/campaigns/" + c + "/progress?by=" + state.by)].concat(coverage)).then(function (res) {
      var p = res[0], cov = [].concat.apply([], res.slice(1)), last = p.series[p.series.length - 1] || {};
      var name = "dasbor-" + c + "-";
      chart({title: t("progress"), labels: p.series.map(function (r) { return r.period; }),
             bars: p.series.map(function (r) { return r.visits; }), line: p.series.map(function (r) { return r.coverage_pct; }),
             barLabel: t("visits_n"), lineLabel: t("coverage_pct"), xLabel: t("period"), file: name + "kemajuan-" + state.by + ".csv",
             columns: [{key: "period"}, {key: "visits"}, {key: "coverage_pct"}], rows: p.series});
      chart({title: t("by_area_" + level), labels: cov.map(function (r) { return areaLabel(r, level); }),
             bars: cov.map(function (r) { return r.verified; }), line: cov.map(function (r) { return r.coverage_pct; }),
             barLabel: t("verified"), lineLabel: t("coverage_pct"), xLabel: t(level), file: name + "cakupan-" + level + ".csv",
             columns: [{key: "code"}, {key: "name"}, {key: "verified"}, {key: "coverage_pct"}], rows: cov});
      chart({title: t("by_verifier"), labels: p.verifiers.map(function (v) { return v.verifier; }),
             bars: p.verifiers.map(function (v) { return v.visits; }), line: null, barLabel: t("visits_n"), xLabel: t("verifier"),
             empty: "no_visits_yet",
             file: name + "verifikator.csv", columns: [{key: "verifier"}, {key: "visits"}], rows: p.verifiers});
      var sum = function (k) { return p.series.reduce(function (a, r) { return a + r[k]; }, 0); };
      el("totals").innerHTML = P.facts([["visits_n", sum("visits")], ["approved", sum("approved")], ["returned", sum("returned")],
        ["flagged", sum("flagged")], ["verified", P.fmt(last.verified_cumulative, 0)], ["coverage_pct", P.fmt(last.coverage_pct, 1)]]);
      P.mark("readyDashboard");
    }).catch(function (err) { P.status(t("failed") + ": " + err.message, "error"); });
  }
  el("by").addEventListener("change", function () { state.by = el("by").value; draw(); });
  el("campaign").addEventListener("change", function () { state.campaign = el("campaign").value; draw(); });
  P.api("/api/v1/campaigns").then(function (list) {
    if (!list.length) { P.status(t("no_campaign")); P.mark("readyDashboard"); return; }
    if (!state.campaign || !list.some(function (c) { return String(c.id) === String(state.campaign); })) { state.campaign = list[0].id; }
    P.options(el("campaign"), list.map(function (c) { return [c.id, c.name]; }), state.campaign);
    return draw();
  });
}
