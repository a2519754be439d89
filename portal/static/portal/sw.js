/* The verifier's page offline: the page, its scripts and the last copy of the verifier's tasks and
   families (and the outlines of the assigned RTs) are kept on the phone, so Tugas Saya opens without a connection
   (visits then wait in localStorage and their photos in IndexedDB, see verifier.js). Network first for pages and
   data (always the newest when online), cache first for the versioned static files. Logging out clears this cache
   (common.js). */
"use strict";
var CACHE = "peta-verifikator-v1";
var DATA = ["/api/v1/assignments/mine", "/ogc/collections/households/items"];
// the RTs of one RW (verifier.js draws the assigned RTs' outlines from them): small; other area layers are not kept
function outlines(url) {
  return url.pathname === "/api/v1/areas" && url.searchParams.get("level") === "rt" && !!url.searchParams.get("parent");
}

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var req = event.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) { return; }
  var page = url.pathname === "/portal/verifikator";
  var data = DATA.some(function (p) { return url.pathname === p; }) || outlines(url);
  if (page || data) {
    event.respondWith(fetch(req).then(function (res) {
      if (res.ok) {
        var copy = res.clone();
        caches.open(CACHE).then(function (c) { c.put(page ? url.pathname : req, copy); });
      }
      return res;
    }).catch(function () {
      return caches.match(page ? url.pathname : req).then(function (hit) { return hit || Response.error(); });
    }));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(req).then(function (hit) {
      return hit || fetch(req).then(function (res) {
        if (res.ok) { var copy = res.clone(); caches.open(CACHE).then(function (c) { c.put(req, copy); }); }
        return res;
      });
    }));
  }
});
