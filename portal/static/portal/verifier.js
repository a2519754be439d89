/* Tugas Saya: a verifier's open assignments, their families on a map and in a list (this campaign's targets first,
   still to visit and done, with counts; the other families of the assigned RTs after), and the visit form with the
   members found and photos of the house. On a phone the map sits on top under the header and the list scrolls
   under it. Visits are kept in localStorage first and sent in batches (idempotent by client_id); their photos,
   resized on the phone, wait in IndexedDB and are sent once their visit has its number on the server: a phone
   without a connection loses nothing, and sends what waits as soon as it is back online. */
function PETA_PAGE() {
  "use strict";
  var t = P.t, map = P.map(), el = function (id) { return document.getElementById(id); };
  var USER = window.PETA.user.username, KEY = "peta.queue." + USER, SENT = "peta.sent." + USER;
  var MAX_SIDE = 1600, QUALITY = 0.8, MAX_PHOTOS = 5;  // photos: longest side in pixels, JPEG quality; the API's limit
  // markers by status (sizes differ too, so that the status does not rest on colour alone)
  var LOOK = {pending: {fill: "#e6550d", line: "#7f2704", radius: 9}, done: {fill: "#1b7837", line: "#00441b", radius: 7},
              other: {fill: "#bdbdbd", line: "#525252", radius: 5}, inactive: {fill: "#ffffff", line: "#525252", radius: 5}};
  var HERE = "#2171b5", OUTLINE = "#6a51a3", CHOSEN = "#1565c0";
  var RELATIONS = ["kepala", "suami_istri", "anak", "menantu", "cucu", "orang_tua", "mertua", "famili_lain", "lainnya"];
  var tasks = [], families = [], mine = [], info = {}, markers = {}, current = null, chosen = null, position = null;
  var shots = [], people = 0, fitted = false, flushing = null, again = false, photosWaiting = 0, placedHere = false;
  var NEAR = 3000;  // metres: a phone this near the families is fitted in view with them (farther: said in words)
  var layer = L.layerGroup().addTo(map), outlines = L.layerGroup().addTo(map), here = L.layerGroup().addTo(map);
  document.body.classList.add("tugas");
  P.i18n(el("panel"));

  /* --- the layout: the map moves into the panel, on top of the list (sticky under the header on a phone) -------- */
  el("mapslot").appendChild(map.getContainer());
  function fitHeader() {
    document.documentElement.style.setProperty("--header-h", Math.ceil(el("header").getBoundingClientRect().bottom) + "px");
    map.invalidateSize();
  }
  fitHeader();
  window.addEventListener("resize", fitHeader);

  /* --- the queue of visits (localStorage) and of their photos (IndexedDB) --------------------------------------- */
  function queue() { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } }
  function store(q) { localStorage.setItem(KEY, JSON.stringify(q)); showQueue(); }
  // client_id -> the visit's number on the server (0: refused), kept while its photos wait
  function sentIds() { try { return JSON.parse(localStorage.getItem(SENT) || "{}"); } catch (e) { return {}; } }
  function storeSent(m) { localStorage.setItem(SENT, JSON.stringify(m)); }
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }

  var DB = null;
  function photoStore(mode, work) {
    if (!DB) {
      DB = new Promise(function (resolve, reject) {
        if (!window.indexedDB) { reject(new Error("IndexedDB")); return; }
        var req = indexedDB.open("peta-verval", 1);
        req.onupgradeneeded = function () { req.result.createObjectStore("photos", {keyPath: "key", autoIncrement: true}); };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return DB.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("photos", mode), req = work(tx.objectStore("photos"));
        tx.oncomplete = function () { resolve(req ? req.result : undefined); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  function waitingPhotos() {
    return photoStore("readonly", function (s) { return s.getAll(); }).then(function (all) {
      var list = (all || []).filter(function (r) { return r.user === USER; });
      photosWaiting = list.length;
      return list;
    });
  }
  function keepPhotos(clientId, list) {
    if (!list.length) { return Promise.resolve(); }
    return photoStore("readwrite", function (s) {
      list.forEach(function (p) { s.add({user: USER, client_id: clientId, blob: p.blob, width: p.width, height: p.height}); });
    });
  }
  function dropPhoto(key) { return photoStore("readwrite", function (s) { return s.delete(key); }); }

  function showQueue(extra) {
    var n = queue().length;
    document.body.dataset.queued = String(n);
    document.body.dataset.photosQueued = String(photosWaiting);
    el("queue").textContent = (navigator.onLine ? "" : t("offline") + " · ") + P.fill(t("queued"), {n: P.fmt(n, 0)}) +
      (photosWaiting ? " · " + P.fill(t("vf_photos_queued"), {n: P.fmt(photosWaiting, 0)}) : "") + (extra ? " · " + extra : "");
  }

  /* visits first (each answered created, duplicate or rejected), then the photos of those that have a number */
  function sendVisits(notes) {
    var q = queue();
    if (!q.length) { return Promise.resolve(); }
    return P.api("/api/v1/verifications/batch", {method: "POST", body: {visits: q}}).then(function (res) {
      var done = {}, sent = sentIds();
      res.results.forEach(function (r) {
        done[r.client_id] = true;  // created, a duplicate of one received before, or refused: it left the phone
        sent[r.client_id] = r.status === "rejected" ? 0 : r.id;
        if (r.status === "rejected") { notes.push(t("rejected") + ": " + r.reason); }
        else { document.body.dataset.sent = String(Number(document.body.dataset.sent || 0) + (r.status === "created" ? 1 : 0)); }
      });
      storeSent(sent);
      q.forEach(function (v) { if (done[v.client_id] && sent[v.client_id]) { info.visits[v.household_id] = "submitted"; } });
      store(queue().filter(function (v) { return !done[v.client_id]; }));
    });
  }
  function upload(vid, blob) {
    return fetch("/api/v1/verifications/" + vid + "/photos", {
      method: "POST", credentials: "same-origin", body: blob,
      headers: {"Accept": "application/json", "Accept-Language": P.lang(), "Content-Type": blob.type || "image/jpeg",
                "X-CSRF-Token": window.PETA.csrf}
    }).then(function (r) {
      if (r.ok) { return r.json(); }
      return r.json().catch(function () { return {}; }).then(function (body) {
        var err = new Error(body.detail || ("HTTP " + r.status));
        err.status = r.status;
        throw err;
      });
    });
  }
  function sendPhotos(notes) {
    return waitingPhotos().then(function (list) {
      var sent = sentIds();
      return list.reduce(function (chain, rec) {
        return chain.then(function () {
          var vid = sent[rec.client_id];
          if (vid === undefined) { return null; }  // its visit still waits in the queue
          if (!vid) { return dropPhoto(rec.key); }  // its visit was refused: there is nothing to attach it to
          return upload(vid, rec.blob).then(function () { return dropPhoto(rec.key); }, function (err) {
            if (!err.status || err.status >= 500) { throw err; }  // the network or the server: try again later
            notes.push(t("vf_photo_refused") + ": " + err.message);
            return dropPhoto(rec.key);
          });
        });
      }, Promise.resolve()).then(waitingPhotos).then(function (left) {
        var keep = {}, m = sentIds();
        left.forEach(function (r) { keep[r.client_id] = true; });
        Object.keys(m).forEach(function (k) { if (!keep[k]) { delete m[k]; } });
        storeSent(m);
      });
    });
  }
  function flush() {
    if (flushing) { again = true; return flushing; }
    if (!navigator.onLine) { showQueue(); return Promise.resolve(); }
    var notes = [], had = queue().length + photosWaiting;
    flushing = sendVisits(notes).then(function () { return sendPhotos(notes); }).then(function () {
      if (had) { P.status(notes.length ? notes.join("; ") : t("sent"), notes.length ? "error" : "ok"); }
    }).catch(function (err) {
      if (err.status) { P.status(err.message, "error"); }  // no status: the network, try again later
    }).then(function () {
      flushing = null;
      showQueue();
      if (families.length) { draw(); }
      if (again) { again = false; return flush(); }
      return null;
    });
    return flushing;
  }
  window.addEventListener("online", flush);
  window.addEventListener("offline", function () { showQueue(); });

  /* --- where the phone is: "you are here", and the distance to each family --------------------------------------- */
  function metres(a, b) {
    var r = Math.PI / 180, dLat = (b.lat - a.lat) * r, dLon = (b.lon - a.lon) * r;
    var s = Math.pow(Math.sin(dLat / 2), 2) + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.pow(Math.sin(dLon / 2), 2);
    return 2 * 6371008.8 * Math.asin(Math.sqrt(s));
  }
  /* metres from the phone to the nearest family on the map (null: no position, or no family placed) */
  function nearest() {
    var best = null;
    Object.keys(markers).forEach(function (k) {
      var ll = markers[k].getLatLng(), m = position ? metres(position, {lat: ll.lat, lon: ll.lng}) : null;
      if (m !== null && (best === null || m < best)) { best = m; }
    });
    return best;
  }
  /* where the phone is, in words: far from every family, how far (its dot is then outside the map); the distance */
  function sayHere() {
    if (!position) { return null; }
    var away = nearest(), out = away !== null && away > NEAR;
    el("here").textContent = out ? P.fill(t("vf_here_far"), {m: P.fmt(position.accuracy_m, 0), d: far(away)})
                                 : P.fill(t("vf_here_at"), {m: P.fmt(position.accuracy_m, 0)});
    document.body.dataset.hereFar = away === null ? "" : out ? "1" : "0";  // "": no family on the map yet
    return away;
  }
  function far(m) { return m < 1000 ? P.fmt(Math.round(m), 0) + " m" : P.fmt(m / 1000, 1) + " km"; }
  function pointOf(f) {
    var c = f.geometry && f.geometry.coordinates;
    return c ? {lon: c[0], lat: c[1]} : null;
  }
  function distanceTo(f) {
    var p = pointOf(f);
    return position && p ? metres(position, p) : null;
  }
  function showDistances() {
    document.querySelectorAll("#families [data-dist]").forEach(function (s) {
      var m = distanceTo(info.byId[s.dataset.dist]);
      s.textContent = m === null ? "" : P.fill(t("vf_from_you"), {d: far(m)});
    });
    if (current) {
      var m = distanceTo(current);
      el("dist").textContent = m === null ? t("no_position") : far(m);
      el("dist").dataset.m = m === null ? "" : String(Math.round(m));
    }
  }
  function located(p) {
    position = {lon: p.coords.longitude, lat: p.coords.latitude, accuracy_m: Math.round(p.coords.accuracy || 0)};
    here.clearLayers();
    if (position.accuracy_m) {
      L.circle([position.lat, position.lon], {radius: position.accuracy_m, color: HERE, weight: 1, fillOpacity: 0.08,
                                              interactive: false}).addTo(here);
    }
    L.circleMarker([position.lat, position.lon], {radius: 8, color: "#ffffff", weight: 3, fillColor: HERE, fillOpacity: 1,
                                                  status: "here"}).bindTooltip(t("vf_here")).addTo(here);
    var first = !placedHere, away = sayHere();
    placedHere = true;
    // the first position found after the list was fitted: fitted again, with the phone in view if it is near
    if (first && fitted && !current && away !== null && away <= NEAR) { fitMine(); }
    el("gps").textContent = position.lat.toFixed(5) + ", " + position.lon.toFixed(5) + " (± " + position.accuracy_m + " m)";
    document.body.dataset.located = "1";
    showDistances();
  }
  function unlocated(err) {
    position = null;
    here.clearLayers();
    var why = err && err.code === 1 ? t("vf_gps_denied") : t("vf_gps_none");
    el("here").textContent = why;
    el("gps").textContent = t("no_position") + " (" + why + ")";
    document.body.dataset.located = err && err.code === 1 ? "denied" : "0";
    showDistances();
  }
  function watch() {
    el("gps").textContent = t("no_position");
    el("here").textContent = t("vf_gps_wait");
    if (!navigator.geolocation) { unlocated(null); return; }
    navigator.geolocation.watchPosition(located, unlocated, {enableHighAccuracy: true, timeout: 20000, maximumAge: 30000});
  }

  /* --- the visit form: result, members found, criteria, photos ------------------------------------------------- */
  function choose(f) {
    chosen = f ? f.properties.id : null;
    Object.keys(markers).forEach(function (id) {
      var on = String(id) === String(chosen), look = LOOK[markers[id].options.status];
      markers[id].setStyle({color: on ? CHOSEN : look.line, weight: on ? 4 : 1});
      if (on) { markers[id].bringToFront(); }
    });
  }
  function open(f) {
    current = f;
    var p = f.properties;
    document.body.classList.add("visiting");  // on a phone the map stops being sticky: the form has the screen
    el("visit").hidden = false;
    el("visit-title").textContent = p.nama_kepala || ("#" + p.id);
    el("visit-facts").innerHTML = P.facts([["code", p.rt_code], ["address", p.alamat], ["score", P.fmt(p.score, 1)],
      ["desil", P.fmt(p.local_desil, 0)], ["members", P.fmt(p.jumlah_anggota, 0)]]);
    el("members").value = p.jumlah_anggota || "";
    el("crit").innerHTML = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14].map(function (i) {
      var k = "k" + (i < 10 ? "0" : "") + i;
      return "<label class='check'><input type='checkbox' id='c" + k + "'" + (p[k] ? " checked" : "") + "> " + P.esc(t(k)) + "</label>";
    }).join("");
    el("notes").value = "";
    el("people").innerHTML = "";
    clearShots();
    choose(f);
    showDistances();
    fitHeader();
    // the fixed header (taller on a phone, where it wraps) would cover the form's title: scroll to just under it
    el("visit").style.scrollMarginTop = (el("header").getBoundingClientRect().bottom + 8) + "px";
    el("visit").scrollIntoView({behavior: "instant", block: "start"});
    if (markers[p.id]) { map.setView(markers[p.id].getLatLng(), 18); }
  }
  function close() {
    el("visit").hidden = true;
    document.body.classList.remove("visiting");
    current = null;
    clearShots();
    fitHeader();
    fitMine();
  }

  function addPerson() {
    var n = ++people, id = "p" + n;
    var row = document.createElement("fieldset");
    row.className = "person";
    row.dataset.person = String(n);
    function field(key, html) { return "<label><span>" + P.esc(t(key)) + "</span>" + html + "</label>"; }
    row.innerHTML = "<legend>" + P.esc(P.fill(t("vf_person"), {n: P.fmt(el("people").children.length + 1, 0)})) + "</legend>" +
      field("name", "<input id='" + id + "-nama' name='nama' required maxlength='200' autocomplete='off'>") +
      field("vf_relation", "<select id='" + id + "-hubungan' name='hubungan'>" + RELATIONS.map(function (r) {
        return "<option value='" + r + "'" + (r === "lainnya" ? " selected" : "") + ">" + P.esc(t("rel_" + r)) + "</option>";
      }).join("") + "</select>") +
      field("vf_sex", "<select id='" + id + "-jk' name='jenis_kelamin'><option value=''>–</option><option value='L'>" +
            P.esc(t("vf_sex_l")) + "</option><option value='P'>" + P.esc(t("vf_sex_p")) + "</option></select>") +
      field("vf_birth_year", "<input id='" + id + "-tahun' name='tahun_lahir' type='number' min='1900' max='2100'" +
            " inputmode='numeric'>") +
      field("vf_nik", "<input id='" + id + "-nik' name='nik' inputmode='numeric' pattern='[0-9]{16}' maxlength='16'" +
            " autocomplete='off' title='" + P.esc(t("vf_nik_hint")) + "'>") +
      "<button type='button' class='remove'>" + P.esc(t("vf_person_remove")) + "</button>";
    row.querySelector("button.remove").onclick = function () {
      row.remove();
      el("members").value = el("people").children.length || (current && current.properties.jumlah_anggota) || "";
      el("people").querySelectorAll("fieldset.person legend").forEach(function (lg, i) {
        lg.textContent = P.fill(t("vf_person"), {n: P.fmt(i + 1, 0)});
      });
      el("add-person").focus();
    };
    el("people").appendChild(row);
    el("members").value = el("people").children.length;  // the count follows the members written down
    row.querySelector("input").focus();
  }
  function members() {
    var rows = el("people").querySelectorAll("fieldset.person");
    if (!rows.length) { return null; }
    return Array.prototype.map.call(rows, function (row) {
      function v(name) { return row.querySelector("[name='" + name + "']").value.trim(); }
      var m = {nama: v("nama"), hubungan: v("hubungan"), jenis_kelamin: v("jenis_kelamin") || null,
               tahun_lahir: v("tahun_lahir") ? Number(v("tahun_lahir")) : null};
      if (v("nik")) { m.nik = v("nik"); }
      return m;
    });
  }

  /* a photo as the camera gives it, drawn again at most MAX_SIDE pixels on its longest side as a JPEG: a few hundred
     KB instead of several MB to send over a phone's connection (and no EXIF, so no GPS tag of the camera's own) */
  function resize(file) {
    return new Promise(function (resolve, reject) {
      var img = new Image(), url = URL.createObjectURL(file);
      img.onload = function () {
        var w = img.naturalWidth, h = img.naturalHeight, k = Math.min(1, MAX_SIDE / Math.max(w, h));
        var c = document.createElement("canvas");
        c.width = Math.max(1, Math.round(w * k));
        c.height = Math.max(1, Math.round(h * k));
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(url);
        c.toBlob(function (b) {
          if (b) { resolve({blob: b, width: c.width, height: c.height}); } else { reject(new Error(t("vf_photo_unreadable"))); }
        }, "image/jpeg", QUALITY);
      };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error(t("vf_photo_unreadable"))); };
      img.src = url;
    });
  }
  function showShots() {
    el("shots").innerHTML = shots.map(function (s, i) {
      return "<figure><img src='" + s.url + "' alt='" + P.esc(P.fill(t("photo_alt"), {n: i + 1, of: shots.length})) + "'>" +
             "<button type='button' data-i='" + i + "'>" + P.esc(t("vf_photo_remove")) + "</button></figure>";
    }).join("");
    el("shots").querySelectorAll("button").forEach(function (b) {
      b.onclick = function () {
        URL.revokeObjectURL(shots[Number(b.dataset.i)].url);
        shots.splice(Number(b.dataset.i), 1);
        showShots();
        el("photo").focus();
      };
    });
    el("shots").dataset.photos = String(shots.length);
    el("photo").disabled = shots.length >= MAX_PHOTOS;
    el("photo-note").textContent = P.fill(t("vf_photos_max"), {n: P.fmt(MAX_PHOTOS, 0)});
  }
  function clearShots() {
    shots.forEach(function (s) { URL.revokeObjectURL(s.url); });
    shots = [];
    showShots();
  }
  el("photo").addEventListener("change", function () {
    var files = Array.prototype.slice.call(el("photo").files || [], 0, MAX_PHOTOS - shots.length);
    el("photo").value = "";
    Promise.all(files.map(resize)).then(function (made) {
      made.forEach(function (m) { m.url = URL.createObjectURL(m.blob); shots.push(m); });
      showShots();
    }).catch(function (err) { P.status(err.message, "error"); });
  });

  P.options(el("result"), [1, 2, 3, 4, 5, 6, 7].map(function (i) { return [i, t("r" + i)]; }), 1);
  el("add-person").onclick = addPerson;
  el("cancel").onclick = function () {
    var id = current && current.properties.id;
    close();
    var row = document.querySelector("#families li[data-id='" + id + "']");
    if (row) { row.scrollIntoView({behavior: "instant", block: "start"}); }
  };
  el("visit").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!current) { return; }
    var p = current.properties, task = taskFor(p);
    if (!task) { return; }
    var crit = [];
    for (var i = 1; i <= 14; i++) { crit.push(el("ck" + (i < 10 ? "0" : "") + i).checked); }
    var visit = {client_id: uuid(), campaign_id: task.campaign_id, household_id: p.id,
                 result_code: Number(el("result").value), visited_at: new Date().toISOString(), criteria: crit,
                 jumlah_anggota: el("members").value ? Number(el("members").value) : null,
                 notes: el("notes").value || null};
    var found = members();
    if (found) { visit.members = found; }
    if (position) { visit.lon = position.lon; visit.lat = position.lat; visit.accuracy_m = position.accuracy_m; }
    var photos = shots.slice();
    // the photos are on the phone before their visit joins the queue: a visit sent at once finds them waiting
    keepPhotos(visit.client_id, photos).then(function () { return photos.length; }, function (err) {
      P.status(t("vf_photos_not_kept") + ": " + err.message, "error");
      return 0;
    }).then(function (kept) {
      photosWaiting += kept;
      var q = queue();
      q.push(visit);
      store(q);
      close();
      draw();
      el("families").scrollIntoView({behavior: "instant", block: "start"});
      flush();
    });
  });

  /* --- the tasks and families ---------------------------------------------------------------------------------- */
  // the open assignment a visit to this family belongs to, as the server picks it: the family's own (a back-check
  // first), else its RT's
  function taskFor(p) {
    var own = tasks.filter(function (a) { return a.household_id === p.id && a.rt_code === p.rt_code; })
                   .sort(function (a, b) { return (b.kind === "backcheck") - (a.kind === "backcheck"); });
    return own[0] || tasks.filter(function (a) { return a.rt_code === p.rt_code && a.household_id === null; })[0] || null;
  }
  // each family's place in the list: pending (a target still to visit), done (a target visited: kept on the phone,
  // awaiting a decision or approved), other (not a target), inactive (removed from the registry: moved, deceased...)
  function statusOf(p, queued) {
    var target = info.targets[p.id];
    var visit = queued[p.id] ? "queued" : (info.visits[p.id] !== undefined ? info.visits[p.id] : target && target.visit);
    var done = !!visit && visit !== "returned";
    if (target && !target.open) { done = true; }
    if (target && done) { return {group: "done", visit: visit}; }
    if (p.hasil_verval && p.hasil_verval !== 1) { return {group: "inactive", visit: visit}; }
    return {group: target ? "pending" : "other", visit: visit};
  }
  function index() {
    var wanted = {}, targets = {};
    tasks.forEach(function (a) {
      wanted[a.household_id === null ? "rt:" + a.rt_code : "id:" + a.household_id] = true;
      (a.targets || []).forEach(function (x) {
        var todo = !x.visit || x.visit === "returned";  // a returned visit is to be made again
        var was = targets[x.id];
        targets[x.id] = {visit: was && was.open ? was.visit : x.visit, open: todo || !!(was && was.open)};
      });
    });
    info.targets = targets;
    info.visits = info.visits || {};  // visits sent from this page since it loaded: household id -> status
    mine = families.filter(function (f) {
      return wanted["rt:" + f.properties.rt_code] || wanted["id:" + f.properties.id];
    }).sort(function (a, b) { return (b.properties.score || 0) - (a.properties.score || 0) || a.properties.id - b.properties.id; });
    info.byId = {};
    mine.forEach(function (f) { info.byId[f.properties.id] = f; });
  }

  function row(f, s) {
    var p = f.properties, visitable = s.group !== "inactive" && s.group !== "done" && taskFor(p);
    var state = s.group === "inactive" ? P.fill(t("vf_inactive"), {result: t("r" + p.hasil_verval)})
              : s.visit ? t("vf_st_" + s.visit) : "";
    if (state === "vf_st_" + s.visit) { state = t("vf_st_sent"); }  // a status this page has no words for
    return "<li data-id='" + p.id + "' data-status='" + s.group + "'><div class='fam'><i class='dot " + s.group +
           "' aria-hidden='true'></i><b>" + P.esc(p.nama_kepala || "#" + p.id) + "</b> · " + P.esc(p.alamat || "") +
           (state ? " <span class='state'>" + P.esc(state) + "</span>" : "") +
           "<br><small>" + P.esc(t("score")) + " " + P.fmt(p.score, 1) + " · " + P.esc(t("desil")) + " " + P.fmt(p.local_desil, 0) +
           " · BPS " + P.fmt(p.bps_count, 0) + "/14 · <a href='/portal/keluarga/" + p.id + "?lang=" + window.PETA.lang + "'>" +
           P.esc(t("detail")) + "</a></small> <small class='dist' data-dist='" + p.id + "'></small></div>" +
           (visitable ? " <button type='button' data-id='" + p.id + "'>" + P.esc(t("visit")) + "</button>" : "") + "</li>";
  }
  function section(id, title, list, empty) {
    return "<h2 id='" + id + "' data-n='" + list.length + "'>" + P.esc(P.fill(t(title), {n: P.fmt(list.length, 0)})) + "</h2>" +
           (list.length ? "<ul class='families'>" + list.map(function (x) { return row(x.f, x.s); }).join("") + "</ul>"
                        : "<p class='hint'>" + P.esc(t(empty)) + "</p>");
  }

  function drawMarkers(placed) {
    layer.clearLayers();
    markers = {};
    placed.forEach(function (x) {
      var pt = pointOf(x.f), look = LOOK[x.s.group], p = x.f.properties;
      if (!pt) { return; }
      markers[p.id] = L.circleMarker([pt.lat, pt.lon], {radius: look.radius, color: look.line, weight: 1, fillColor: look.fill,
        fillOpacity: 0.95, dashArray: x.s.group === "inactive" ? "2 2" : null, status: x.s.group})
        .bindTooltip(P.esc(p.nama_kepala || "#" + p.id)).on("click", function () {
          // a family to visit opens its form; while a form is open (or for the others) the marker is only chosen
          if (!current && (x.s.group === "pending" || (x.s.group === "other" && taskFor(p)))) { open(x.f); } else { choose(x.f); }
        }).addTo(layer);
    });
    // targets over the other families
    placed.forEach(function (x) {
      var m = markers[x.f.properties.id];
      if (m && x.s.group === "pending") { m.bringToFront(); }
    });
    // the outlines over the markers (thin lines that take no taps: on an overview the markers would hide them)
    outlines.eachLayer(function (l) { l.bringToFront(); });
    here.eachLayer(function (l) { l.bringToFront(); });
    if (chosen !== null) { choose(info.byId[chosen]); }
    if (!fitted) { fitMine(); }
  }
  // every family of the list in view (at first, and back from a form); Leaflet drops a new view asked for while it
  // animates a zoom (the page's first fit to the kab/kota may still run)
  function fitMine() {
    var all = Object.keys(markers).map(function (k) { return markers[k]; });
    if (!all.length) { return; }
    fitted = true;
    if (map._animatingZoom) { map.once("zoomend", fitMine); return; }
    var bounds = L.featureGroup(all).getBounds();
    var away = sayHere();
    // "you are here" in view with the families when the phone is near them (a few km); farther, the line under the
    // list says how far it is rather than shrinking the families to a speck
    if (away !== null && away <= NEAR) { bounds.extend([position.lat, position.lon]); }
    var box = el("vlegend"), below = box ? box.offsetHeight + 16 : 16;  // no family hidden under the legend
    map.fitBounds(bounds, {maxZoom: 17, paddingTopLeft: [16, 16], paddingBottomRight: [16, below]});
  }

  function drawTasks(queued) {
    el("tasks").innerHTML = "<h2>" + P.esc(t("my_tasks")) + "</h2>" + (tasks.length ? "<ul>" + tasks.map(function (a) {
      var list = a.targets || [], left = list.filter(function (x) {  // as the list counts them (removed ones are not)
        var f = info.byId[x.id];
        return f ? statusOf(f.properties, queued).group === "pending" : !x.visit || x.visit === "returned";
      }).length;
      var one = a.household_id === null ? null : info.byId[a.household_id];
      return "<li>" + P.esc(a.campaign) + " · " + P.esc(a.household_id === null ? (a.rt_name || "") + " " + a.rt_code
                                                       : (one ? one.properties.nama_kepala + " " : "") + "#" + a.household_id) +
             " · " + P.esc(t("due")) + " " + P.esc(a.due_on) +
             (list.length ? " · " + P.esc(P.fill(t("vf_task_left"), {left: P.fmt(left, 0), n: P.fmt(list.length, 0)})) : "") +
             (a.kind === "backcheck" ? " · " + P.esc(t("backcheck")) : "") + "</li>";
    }).join("") + "</ul>" : "<p>" + P.esc(t("no_tasks")) + "</p>");
  }

  function draw() {
    var queued = {};
    queue().forEach(function (v) { queued[v.household_id] = true; });
    var groups = {pending: [], done: [], other: [], inactive: []};
    mine.forEach(function (f) { var s = statusOf(f.properties, queued); groups[s.group].push({f: f, s: s}); });
    var rest = groups.other.concat(groups.inactive);
    var expanded = el("others") && el("others").open;
    el("families").innerHTML = section("pending-h", "vf_pending", groups.pending, "vf_none_pending") +
      section("done-h", "vf_done", groups.done, "vf_none_done") +
      (rest.length ? "<details id='others'" + (expanded ? " open" : "") + "><summary><h2 id='others-h' data-n='" + rest.length + "'>" +
        P.esc(P.fill(t("vf_others"), {n: P.fmt(rest.length, 0)})) + "</h2></summary><p class='hint'>" + P.esc(t("vf_others_hint")) +
        "</p><ul class='families secondary'>" + rest.map(function (x) { return row(x.f, x.s); }).join("") + "</ul></details>" : "");
    el("families").querySelectorAll("button[data-id]").forEach(function (b) {
      b.onclick = function () { open(info.byId[b.dataset.id]); };
    });
    drawMarkers(rest.concat(groups.done, groups.pending));
    drawTasks(queued);
    showDistances();
    document.body.dataset.families = String(mine.length);
    document.body.dataset.pending = String(groups.pending.length);
    document.body.dataset.done = String(groups.done.length);
  }

  /* the legend of the markers and outlines, on the map */
  var legend = L.control({position: "bottomleft"});
  legend.onAdd = function () {
    var box = L.DomUtil.create("div", "vlegend");
    box.id = "vlegend";
    function item(style, key) { return "<span><i aria-hidden='true' style='" + style + "'></i>" + P.esc(t(key)) + "</span>"; }
    function dot(look, dashed) {
      return "background:" + look.fill + ";border:" + (dashed ? "1px dashed " : "1px solid ") + look.line + ";border-radius:50%";
    }
    box.innerHTML = item(dot(LOOK.pending), "vf_legend_pending") + item(dot(LOOK.done), "vf_legend_done") +
      item(dot(LOOK.other), "vf_legend_other") + item(dot(LOOK.inactive, true), "vf_legend_inactive") +
      item("background:" + HERE + ";border:2px solid #fff;box-shadow:0 0 0 1px " + HERE + ";border-radius:50%", "vf_here") +
      item("background:transparent;border:2px solid " + OUTLINE, "vf_legend_rt");
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  legend.addTo(map);

  /* the assigned RTs' outlines (public boundaries, by RW: a few RTs each) */
  function drawOutlines() {
    var codes = {}, parents = {};
    tasks.forEach(function (a) { codes[a.rt_code] = true; parents[a.rt_code.split(".").slice(0, -1).join(".")] = true; });
    return Promise.all(Object.keys(parents).map(function (rw) {
      return P.api("/api/v1/areas?level=rt&limit=100&parent=" + rw).then(function (fc) { return fc.features || []; },
                                                                         function () { return []; });
    })).then(function (lists) {
      outlines.clearLayers();
      var shown = [].concat.apply([], lists).filter(function (f) { return codes[f.properties.code]; });
      L.geoJSON({type: "FeatureCollection", features: shown}, {interactive: false,
        style: function () { return {color: OUTLINE, weight: 2, fill: false, opacity: 0.9}; }}).eachLayer(function (l) {
        l.options.status = "outline";
        outlines.addLayer(l);
      });
      here.eachLayer(function (l) { l.bringToFront(); });
      document.body.dataset.outlines = String(shown.length);
    });
  }

  if ("serviceWorker" in navigator) {  // the page and the last tasks stay on the phone for offline use
    navigator.serviceWorker.register("/portal/sw.js", {scope: "/portal/"}).catch(function (e) { console.warn(e); });
  }
  P.status(t("loading"));
  showShots();
  watch();
  var waiting = waitingPhotos().catch(function () { return []; });
  Promise.all([P.api("/api/v1/assignments/mine"), P.api("/ogc/collections/households/items?limit=5000"), waiting])
    .then(function (res) {
      tasks = res[0];
      families = res[1].features;
      P.status("");
      index();
      draw();
      showQueue();
      P.mark("readyVerifier");
      drawOutlines().catch(function (e) { console.warn(e); });
      flush();
    })
    .catch(function (err) { P.status(t("failed") + ": " + err.message, "error"); showQueue(); });
}
