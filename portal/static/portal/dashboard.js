/* Dasbor: a campaign's progress over time (visits per period, families verified and coverage % to date),
   coverage by kecamatan and visits by verifier, drawn as SVG charts from /api/v1/campaigns/{id}/progress
   and /coverage. */
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
  function figures(labels, bars, line, barLabel, lineLabel) {
    if (!labels.length) { return t("no_value"); }
    return labels.map(function (label, i) {
      return label + ": " + barLabel + " " + P.fmt(bars[i], 0) + (line ? ", " + lineLabel + " " + P.fmt(line[i], 1) : "");
    }).join("; ");
  }
  /* bars (left axis) and an optional line (right axis, 0..100 %) over labelled categories */
  function chart(title, labels, bars, line, barLabel, lineLabel) {
    var W = 900, H = 330, L0 = 50, R0 = 50, T0 = 30, B0 = 95, w = W - L0 - R0, h = H - T0 - B0;
    var box = document.createElement("section");
    box.className = "chart";
    box.innerHTML = "<h2>" + P.esc(title) + "</h2>";
    var s = svg(W, H, title, figures(labels, bars, line, barLabel, lineLabel));
    var max = Math.max.apply(null, bars.concat([1]));
    var step = w / Math.max(labels.length, 1);
    add(s, "line", {x1: L0, y1: T0 + h, x2: L0 + w, y2: T0 + h, stroke: "#888"});
    add(s, "text", {x: L0 - 6, y: T0 + 4, "text-anchor": "end", "font-size": 11}, P.fmt(max, 0));
    add(s, "text", {x: L0 - 6, y: T0 + h, "text-anchor": "end", "font-size": 11}, "0");
    bars.forEach(function (v, i) {
      var bh = h * v / max;
      add(s, "rect", {x: L0 + i * step + step * 0.15, y: T0 + h - bh, width: step * 0.7, height: bh, fill: "#fd8d3c",
                      "data-value": v}).appendChild(document.createElementNS(NS, "title")).textContent = labels[i] + ": " + P.fmt(v, 0);
      if (labels.length <= 20 || i % Math.ceil(labels.length / 20) === 0) {
        add(s, "text", {x: L0 + i * step + step / 2, y: T0 + h + 14, "text-anchor": "end", "font-size": 10,
                        transform: "rotate(-35 " + (L0 + i * step + step / 2) + " " + (T0 + h + 14) + ")"}, labels[i]);
      }
    });
    if (line) {
      var pts = line.map(function (v, i) { return (L0 + i * step + step / 2) + "," + (T0 + h - h * (v || 0) / 100); });
      add(s, "polyline", {points: pts.join(" "), fill: "none", stroke: "#243b55", "stroke-width": 2.5});
      add(s, "text", {x: L0 + w + 6, y: T0 + 4, "font-size": 11}, "100 %");
      add(s, "text", {x: L0 + w + 6, y: T0 + h, "font-size": 11}, "0 %");
    }
    var legend = "<p class='hint'><i class='sw bar'></i>" + P.esc(barLabel) + (line ? " · <i class='sw line'></i>" + P.esc(lineLabel) : "") + "</p>";
    box.appendChild(s);
    box.insertAdjacentHTML("beforeend", legend);
    main.appendChild(box);
  }

  function draw() {
    main.innerHTML = "";
    var c = state.campaign;
    history.replaceState(null, "", "?" + new URLSearchParams({campaign: c, by: state.by, lang: window.PETA.lang}).toString());
    return Promise.all([P.api("/api/v1/campaigns/" + c + "/progress?by=" + state.by),
                        P.api("/api/v1/campaigns/" + c + "/coverage?level=kecamatan")]).then(function (res) {
      var p = res[0], cov = res[1], last = p.series[p.series.length - 1] || {};
      chart(t("progress"), p.series.map(function (r) { return r.period; }), p.series.map(function (r) { return r.visits; }),
            p.series.map(function (r) { return r.coverage_pct; }), t("visits_n"), t("coverage_pct"));
      chart(t("by_area"), cov.map(function (r) { return r.name; }), cov.map(function (r) { return r.verified; }),
            cov.map(function (r) { return r.coverage_pct; }), t("verified"), t("coverage_pct"));
      chart(t("by_verifier"), p.verifiers.map(function (v) { return v.verifier; }), p.verifiers.map(function (v) { return v.visits; }),
            null, t("visits_n"));
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
