/* Tinjau Kunjungan: a campaign's visits (awaiting a decision by default, flagged first), each with its
   objectivity flags explained, on the map where the visit was recorded; approve (the registry, ranking
   and figures follow) or return with a reason. */
function PETA_PAGE() {
  "use strict";
  var t = P.t, map = P.map(), el = function (id) { return document.getElementById(id); };
  var q = new URLSearchParams(location.search);
  var state = {campaign: q.get("campaign"), status: q.get("status") || "submitted", flagged: q.get("flagged") === "1"};
  var layer = L.layerGroup().addTo(map), visits = [];
  var sort = {key: "n_flags", dir: -1, row: null};  // flagged first; kept across reloads
  P.i18n(el("panel"));
  P.options(el("state"), [["submitted", t("submitted")], ["approved", t("approved")], ["returned", t("returned")]], state.status);
  el("flagged").checked = state.flagged;

  function decide(id, approve) {
    var body = {decision: approve ? "approve" : "return"};
    if (!approve) {
      var reason = window.prompt(t("reason_prompt"));
      if (!reason) { return; }
      body.reason = reason;
    }
    P.api("/api/v1/verifications/" + id + "/decision", {method: "POST", body: body})
      .then(function (v) { P.status("#" + v.id + ": " + t(v.status), "ok"); return load(); })
      .catch(function (err) { P.status(err.message, "error"); });
  }

  function show(v) {
    el("info").innerHTML = "<b>" + P.esc(v.nama_kepala || "#" + v.household_id) + "</b> · <a href='/portal/keluarga/" +
      v.household_id + "?lang=" + window.PETA.lang + "'>" + P.esc(t("detail")) + "</a>" +
      P.facts([["code", v.rt_code], ["verifier", v.verifier], ["result", t("r" + v.result_code)],
               ["members", P.fmt(v.jumlah_anggota, 0)], ["notes", v.notes || "–"]]) +
      "<ul class='flags'>" + (v.flags || []).map(function (f) {
        return "<li data-flag='" + P.esc(f.code) + "'><b>" + P.esc(t("flag_" + f.code)) + "</b>: " + P.esc(f.detail) + "</li>";
      }).join("") + "</ul>";
    if (v.lat !== null) { map.setView([v.lat, v.lon], 17); }
  }

  function draw() {
    layer.clearLayers();
    visits.forEach(function (v) {
      if (v.lat === null) { return; }
      L.circleMarker([v.lat, v.lon], {radius: 7, weight: 1, color: "#243b55", fillOpacity: 0.9,
                                      fillColor: (v.flags || []).length ? "#bd0026" : "#1b9e77"})
        .bindTooltip(P.esc(v.nama_kepala || "") + " · " + P.esc(v.verifier)).on("click", function () { show(v); }).addTo(layer);
    });
    var rows = visits.map(function (v) {
      return {code: String(v.id), id: v.id, when: (v.visited_at || "").slice(0, 16).replace("T", " "), name: v.nama_kepala,
              verifier: v.verifier, result: v.result_code, flags: (v.flags || []).map(function (f) { return t("flag_" + f.code); }).join(", "),
              n_flags: (v.flags || []).length, status: v.status};
    });
    var columns = [{key: "when", label: t("when"), render: function (r) { return P.esc(r.when); }},
                   {key: "name", label: t("head"), render: function (r) { return P.esc(r.name || ""); }},
                   {key: "verifier", label: t("verifier"), render: function (r) { return P.esc(r.verifier); }},
                   {key: "result", label: t("result"), digits: 0},
                   {key: "n_flags", label: t("flags"), render: function (r) { return "<span title='" + P.esc(r.flags) + "'>" + P.esc(r.flags || "–") + "</span>"; }},
                   {key: "status", label: t("status"), render: function (r) {
                     return r.status !== "submitted" ? P.esc(t(r.status)) :
                       "<button data-approve='" + r.id + "'>" + P.esc(t("approve")) + "</button> <button data-return='" + r.id + "'>" + P.esc(t("return")) + "</button>";
                   }}];
    P.table(el("table"), columns, rows, function (code, ev) {
      var v = visits.filter(function (x) { return String(x.id) === code; })[0];
      if (ev.target.dataset.approve) { decide(v.id, true); }
      else if (ev.target.dataset.return) { decide(v.id, false); }
      else { show(v); }
    }, {label: t("table_visits"), state: sort});
    document.body.dataset.visits = String(visits.length);
    P.mark("readyReview");
  }

  function load() {
    history.replaceState(null, "", "?" + new URLSearchParams({campaign: state.campaign, status: state.status,
      flagged: state.flagged ? "1" : "0", lang: window.PETA.lang}).toString());
    var url = "/api/v1/campaigns/" + state.campaign + "/verifications?limit=1000&status=" + state.status +
              (state.flagged ? "&flagged=true" : "");
    return P.api(url).then(function (list) { visits = list; draw(); })
      .catch(function (err) { P.status(t("failed") + ": " + err.message, "error"); });
  }
  el("state").addEventListener("change", function () { state.status = el("state").value; load(); });
  el("flagged").addEventListener("change", function () { state.flagged = el("flagged").checked; load(); });
  el("campaign").addEventListener("change", function () { state.campaign = el("campaign").value; load(); });
  P.api("/api/v1/campaigns").then(function (list) {
    if (!list.length) { P.status(t("no_campaign")); P.mark("readyReview"); return; }
    if (!state.campaign || !list.some(function (c) { return String(c.id) === String(state.campaign); })) { state.campaign = list[0].id; }
    P.options(el("campaign"), list.map(function (c) { return [c.id, c.name]; }), state.campaign);
    return load();
  });
}
