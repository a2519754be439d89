/* A family: its record (masked identity numbers), the score explained criterion by criterion, the record's
   earlier versions and its visits. Reads are audited by the API; out of scope the family does not exist. */
function PETA_PAGE() {
  "use strict";
  var t = P.t, map = P.map(), el = function (id) { return document.getElementById(id); };
  var id = window.PETA.household, RT = "#000000";

  /* the family's RT outline: the public boundary (OGC API Features), none if it cannot be had */
  function outline(code) {
    if (!code) { return Promise.resolve(null); }
    return P.api("/ogc/collections/rt/items/" + encodeURIComponent(code)).catch(function () { return null; });
  }
  /* what the map draws, on the map */
  function legend(point, rt) {
    if (!point && !rt) { return; }
    var box = L.control({position: "bottomleft"});
    box.onAdd = function () {
      var div = L.DomUtil.create("div", "vlegend");
      div.id = "flegend";
      div.innerHTML = (point ? "<span><i aria-hidden='true' style='background:#f03b20;border:2px solid #243b55;border-radius:50%'></i>" +
                               P.esc(t("legend_family_point")) + "</span>" : "") +
                      (rt ? "<span><i aria-hidden='true' style='background:transparent;border:2px solid " + RT + "'></i>" +
                            P.esc(t("legend_rt")) + "</span>" : "");
      return div;
    };
    box.addTo(map);
  }
  Promise.all([P.api("/api/v1/households/" + id), P.api("/api/v1/households/" + id + "/trail")]).then(function (res) {
    var f = res[0], trail = res[1], x = trail.explanation || {};
    el("family").innerHTML = "<h2>" + P.esc(f.nama_kepala || ("#" + f.id)) + "</h2>" + P.facts([
      ["kk", f.kk_masked], ["address", f.alamat], ["code", f.rt_code], ["members", P.fmt(f.jumlah_anggota, 0)],
      ["score", P.fmt(f.score, 1)], ["desil", P.fmt(f.local_desil, 0)], ["official_desil", P.fmt(f.desil_resmi, 0)],
      ["category", f.category || "–"], ["rank", x.local_rank ? P.fmt(x.local_rank, 0) + " / " + P.fmt(x.ranked_families, 0) : "–"]]);
    el("explain").innerHTML = "<h3>" + P.esc(t("explain")) + "</h3><table class='grid'><thead><tr><th scope='col'>" + P.esc(t("criteria")) +
      "</th><th scope='col'>" + P.esc(t("met")) + "</th><th scope='col'>" + P.esc(t("points")) + "</th></tr></thead><tbody>" +
      (x.contributions || []).map(function (c) {
        return "<tr data-indicator='" + c.indicator + "'><td>" + P.esc(t(c.indicator)) + "</td><td>" + (c.met ? "✔" : "") +
               "</td><td>" + P.fmt(c.points, 2) + "</td></tr>";
      }).join("") + "<tr><th scope='row'>" + P.esc(t("score")) + "</th><td></td><td><b>" + P.fmt(x.score, 1) + "</b></td></tr></tbody></table>";
    /* a list with nothing in it yet says so */
    function none(key) { return "<p class='hint empty'>" + P.esc(t(key)) + "</p>"; }
    el("history").innerHTML = "<h3>" + P.esc(t("history")) + "</h3>" + (!trail.versions.length ? none("no_history") :
      "<table class='grid'><tbody>" + trail.versions.map(function (v) {
      return "<tr><td>" + P.esc(t("version")) + " " + v.version + "</td><td>" + P.esc((v.valid_to || "").slice(0, 10)) +
             "</td><td>" + P.esc(t("members")) + " " + P.fmt(v.jumlah_anggota, 0) + "</td><td>BPS " + P.fmt(v.bps_count, 0) + "</td></tr>";
    }).join("") + "</tbody></table>");
    el("visits").innerHTML = "<h3>" + P.esc(t("visits")) + "</h3>" + (!trail.visits.length ? none("no_visits") :
      "<table class='grid'><tbody>" + trail.visits.map(function (v) {
      return "<tr><td>" + P.esc((v.visited_at || "").slice(0, 16).replace("T", " ")) + "</td><td>" + P.esc(v.verifier) +
             "</td><td>" + P.esc(t("r" + v.result_code)) + "</td><td>" + P.esc(t(v.status)) + "</td><td>" +
             P.esc((v.flags || []).map(function (g) { return t("flag_" + g.code); }).join(", ")) + "</td></tr>";
    }).join("") + "</tbody></table>");
    // the family's point and its RT's outline (the public boundary), the view fitted to both at once (no zoom
    // animation: the page is ready, and its picture whole, when they are drawn)
    var point = f.lon !== null && f.lat !== null ? L.latLng(f.lat, f.lon) : null, marker = null;
    if (point) {
      marker = L.circleMarker(point, {radius: 9, color: "#243b55", weight: 2, fillColor: "#f03b20", fillOpacity: 0.9})
        .bindTooltip(P.esc(t("legend_family_point"))).addTo(map);
      map.setView(point, 17, {animate: false});
    }
    return outline(f.rt_code).then(function (rt) {
      var shown = rt ? L.geoJSON(rt, {style: {color: RT, weight: 2, fill: false}, interactive: false}).addTo(map) : null;
      if (shown) {
        var bounds = shown.getBounds();
        if (point) { bounds.extend(point); }
        map.fitBounds(bounds.pad(0.15), {maxZoom: 18, animate: false});
      }
      if (marker) { marker.bringToFront(); }
      legend(!!point, !!shown);
      document.body.dataset.outline = shown ? "1" : "0";
      P.mark("readyFamily");
    });
  }).catch(function (err) {
    P.status(err.status === 404 ? t("not_allowed") : t("failed") + ": " + err.message, "error");
    P.mark("readyFamily");
  });
}
