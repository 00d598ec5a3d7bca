/* vntwin map explorer: MapLibre GL (CSP build) over vntwin's own tiles only.
   Base map: province and commune boundaries (/map/units/...); overlays: the OGC vector
   tiles of any layer, or one variable of a fused grid layer (with a time slider when the
   layer has time-stamped values). Clicks ask the /twin API for every layer's values. */
(function () {
  "use strict";
  var root = document.getElementById("explorer");
  if (!root || !window.maplibregl) { return; }
  var T = JSON.parse(root.getAttribute("data-i18n"));
  var lang = root.getAttribute("data-lang");
  var numberFormat = new Intl.NumberFormat(lang === "vi" ? "vi-VN" : "en-GB",
    {maximumFractionDigits: 3});
  var PALETTE = ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"];  // viridis: colour-blind safe
  var VECTOR_COLOURS = ["#d7301f", "#0570b0", "#6a51a3", "#238443", "#cc4c02", "#ce1256"];
  var MAX_LISTED = 200;
  var VIETNAM = [[102.1, 8.4], [109.5, 23.4]];

  maplibregl.setWorkerUrl(new URL(root.getAttribute("data-worker"), location.href).href);

  function fill(template, params) {
    return template.replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(params, key)
        ? encodeURIComponent(params[key]) : m;
    });
  }
  // not new URL(): it would percent-encode the {z}/{x}/{y} of tile templates
  function absolute(path) { return path.charAt(0) === "/" ? location.origin + path : path; }
  function say(key, params) {
    return (T[key] || key).replace(/%\((\w+)\)s/g, function (m, k) { return params[k]; });
  }
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d")
      .replace(/Đ/g, "D").toLowerCase();
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function fmt(value) {
    return typeof value === "number" ? numberFormat.format(value) : String(value);
  }

  var unitTiles = root.getAttribute("data-unit-tiles");
  var map = new maplibregl.Map({
    container: "map",
    bounds: VIETNAM,
    maxBounds: [[95, 2], [118, 28]],
    attributionControl: false,
    style: {
      version: 8,
      sources: {
        provinces: {type: "vector", tiles: [absolute(fill(unitTiles, {level: "province"}))],
                    maxzoom: 10},
        communes: {type: "vector", tiles: [absolute(fill(unitTiles, {level: "commune"}))],
                   minzoom: 6, maxzoom: 12}
      },
      layers: [
        {id: "sea", type: "background", paint: {"background-color": "#dfe9f2"}},
        {id: "land", type: "fill", source: "provinces", "source-layer": "province",
         paint: {"fill-color": "#f6f4ee"}},
        {id: "commune-lines", type: "line", source: "communes", "source-layer": "commune",
         minzoom: 6, filter: ["==", ["get", "province_code"], ""],
         paint: {"line-color": "#8a96a3", "line-width": 0.6}},
        {id: "province-lines", type: "line", source: "provinces", "source-layer": "province",
         paint: {"line-color": "#55606b", "line-width": 1}},
        {id: "commune-selected", type: "line", source: "communes", "source-layer": "commune",
         filter: ["==", ["get", "code"], ""], paint: {"line-color": "#a61b1b", "line-width": 3}},
        {id: "province-selected", type: "line", source: "provinces", "source-layer": "province",
         filter: ["==", ["get", "code"], ""], paint: {"line-color": "#073763", "line-width": 3}}
      ]
    }
  });
  map.addControl(new maplibregl.NavigationControl({showCompass: false}), "top-right");
  map.addControl(new maplibregl.ScaleControl({}), "bottom-left");
  map.addControl(new maplibregl.AttributionControl({compact: true,
    customAttribution: "© Natural Earth · vietnamadminunits · GeoNames (CC BY 4.0)"}));
  window.vntwinMap = map;  // for tests and benchmarks
  map.once("idle", function () { document.getElementById("map").setAttribute("data-ready", "1"); });

  var layers = [];
  var active = {};  // layer entry id -> {entry, mapLayer, source, time}
  var list = document.getElementById("layer-list");
  var search = document.getElementById("layer-search");
  var count = document.getElementById("layer-count");
  var activeList = document.getElementById("active-list");
  var info = document.getElementById("info");
  var provinceSelect = document.getElementById("province-select");
  var communeSelect = document.getElementById("commune-select");
  var provinces = {};
  var communes = {};

  // -- layer list --------------------------------------------------------------------
  function kindLabel(entry) {
    if (entry.kind === "grid") { return "H3 · " + (entry.variable_kind || "") + unitText(entry); }
    if (entry.kind === "live") {
      return T.live + unitText(entry) + (entry.simulated ? " · " + T.simulated : "");
    }
    return T[{point: "points", line: "lines", polygon: "areas"}[entry.kind]] || entry.kind;
  }
  function renderList() {
    var words = fold(search.value.trim()).split(/\s+/).filter(Boolean);
    var matches = layers.filter(function (entry) {
      var hay = fold(entry.title + " " + (entry.dataset || "") + " " + (entry.canonical || ""));
      return words.every(function (w) { return hay.indexOf(w) >= 0; });
    });
    list.textContent = "";
    matches.slice(0, MAX_LISTED).forEach(function (entry) {
      var li = el("li");
      var id = "layer-" + entry.index;
      var box = el("input", {type: "checkbox", id: id});
      box.checked = Boolean(active[entry.id]);
      box.addEventListener("change", function () {
        if (box.checked) { switchOn(entry); } else { switchOff(entry); }
      });
      var label = el("label", {"for": id}, entry.title);
      label.appendChild(el("span", {"class": "kind"}, kindLabel(entry)));
      li.appendChild(box);
      li.appendChild(label);
      list.appendChild(li);
    });
    count.textContent = matches.length ? say("layers_found",
      {shown: Math.min(matches.length, MAX_LISTED), total: matches.length}) : T.no_layers;
  }
  search.addEventListener("input", renderList);

  // -- switching layers on and off ----------------------------------------------------
  // Classes from the quintile breaks, without empty or repeated ones: a skewed variable
  // (most cells 1, a few 40) gets fewer classes rather than a legend that lies.
  function classes(entry) {
    var cuts = [];
    entry.breaks.forEach(function (b) {
      if (b > entry.min && b < entry.max && cuts.indexOf(b) < 0) { cuts.push(b); }
    });
    var n = cuts.length + 1;
    var colours = [];
    for (var i = 0; i < n; i += 1) {
      colours.push(PALETTE[n === 1 ? 2 : Math.round(i * (PALETTE.length - 1) / (n - 1))]);
    }
    var edges = [entry.min].concat(cuts).concat([entry.max]);
    return {cuts: cuts, colours: colours, edges: edges};
  }
  function gridPaint(entry) {
    var c = classes(entry);
    var steps = ["step", ["to-number", ["get", entry.variable]], c.colours[0]];
    c.cuts.forEach(function (cut, i) { steps.push(cut, c.colours[i + 1]); });
    return c.cuts.length ? steps : c.colours[0];
  }
  function unitText(entry) {
    return entry.unit && entry.unit !== "1" ? " " + entry.unit : "";
  }
  function sourceFor(entry, time) {
    if (entry.kind === "grid" && entry.times && entry.times.length) {
      return {id: "time:" + entry.id, tiles: absolute(fill(root.getAttribute("data-grid-tiles"),
        {layer: entry.layer, variable: entry.variable})) + "?as_of=" + encodeURIComponent(time)};
    }
    return {id: "ogc:" + entry.collection,
            tiles: absolute(fill(root.getAttribute("data-ogc-tiles"), {id: entry.collection}))};
  }
  // Live sensors: a GeoJSON source fetched again every LIVE_REFRESH_MS while shown.
  var LIVE_REFRESH_MS = 30000;
  function liveUrl(entry) { return absolute(fill(root.getAttribute("data-live"), {layer: entry.layer})); }
  function switchOnLive(entry) {
    var src = "live:" + entry.layer;
    if (!map.getSource(src)) { map.addSource(src, {type: "geojson", data: liveUrl(entry)}); }
    var mapLayer = "layer:" + entry.id;
    map.addLayer({id: mapLayer, source: src, type: "circle",
                  paint: {"circle-color": gridPaint(entry), "circle-radius": 7,
                          "circle-stroke-color": "#000", "circle-stroke-width": 1}},
                 "commune-selected");
    var timer = window.setInterval(function () {
      var source = map.getSource(src);
      if (source) { source.setData(liveUrl(entry)); }
    }, LIVE_REFRESH_MS);
    active[entry.id] = {entry: entry, mapLayer: mapLayer, source: src, time: null, timer: timer};
    renderActive();
  }
  function switchOn(entry) {
    if (active[entry.id]) { return; }
    if (entry.kind === "live") { switchOnLive(entry); return; }
    var time = entry.times && entry.times.length ? entry.times[entry.times.length - 1] : null;
    var src = sourceFor(entry, time);
    if (!map.getSource(src.id)) {
      map.addSource(src.id, {type: "vector", tiles: [src.tiles], maxzoom: 14});
    }
    var mapLayer = "layer:" + entry.id;
    var colour = VECTOR_COLOURS[entry.index % VECTOR_COLOURS.length];
    var spec = {id: mapLayer, source: src.id, "source-layer": entry.collection};
    if (entry.kind === "grid") {
      spec.type = "fill";
      spec.filter = ["has", entry.variable];
      spec.paint = {"fill-color": gridPaint(entry), "fill-opacity": 0.75,
                    "fill-outline-color": "rgba(0,0,0,0.15)"};
    } else if (entry.kind === "point") {
      spec.type = "circle";
      spec.paint = {"circle-color": colour, "circle-radius": 4, "circle-opacity": 0.85,
                    "circle-stroke-color": "#fff", "circle-stroke-width": 1};
    } else if (entry.kind === "line") {
      spec.type = "line";
      spec.paint = {"line-color": colour, "line-width": 2, "line-opacity": 0.85};
    } else {
      spec.type = "fill";
      spec.paint = {"fill-color": colour, "fill-opacity": 0.5, "fill-outline-color": "#333"};
    }
    map.addLayer(spec, entry.kind === "grid" ? "commune-lines" : "commune-selected");
    active[entry.id] = {entry: entry, mapLayer: mapLayer, source: src.id, time: time};
    renderActive();
  }
  function switchOff(entry) {
    var item = active[entry.id];
    if (!item) { return; }
    if (item.timer) { window.clearInterval(item.timer); }
    map.removeLayer(item.mapLayer);
    var stillUsed = Object.keys(active).some(function (k) {
      return k !== entry.id && active[k].source === item.source;
    });
    if (!stillUsed) { map.removeSource(item.source); }
    delete active[entry.id];
    renderActive();
    renderList();
  }

  function legendFor(entry) {
    var ul = el("ul", {"class": "legend", "aria-label": T.legend});
    if (entry.kind !== "grid" && entry.kind !== "live") {
      var li = el("li");
      var sw = el("span", {"class": "swatch", "aria-hidden": "true"});
      sw.style.background = VECTOR_COLOURS[entry.index % VECTOR_COLOURS.length];
      li.appendChild(sw);
      li.appendChild(document.createTextNode(kindLabel(entry)));
      ul.appendChild(li);
      return ul;
    }
    var c = classes(entry);
    c.colours.forEach(function (colour, i) {
      var row = el("li");
      var swatch = el("span", {"class": "swatch", "aria-hidden": "true"});
      swatch.style.background = colour;
      row.appendChild(swatch);
      var low = c.edges[i];
      var high = c.edges[i + 1];
      row.appendChild(document.createTextNode(
        (low === high ? fmt(low) : fmt(low) + " – " + fmt(high)) + unitText(entry)));
      ul.appendChild(row);
    });
    return ul;
  }

  function renderActive() {
    activeList.textContent = "";
    var ids = Object.keys(active);
    document.getElementById("active-empty").classList.toggle("hidden", ids.length > 0);
    ids.forEach(function (id) {
      var item = active[id];
      var entry = item.entry;
      var li = el("li");
      li.appendChild(el("h3", {}, entry.title));
      li.appendChild(legendFor(entry));
      var opacityId = "opacity-" + entry.index;
      li.appendChild(el("label", {"for": opacityId}, T.opacity));
      var range = el("input", {type: "range", id: opacityId, min: "0", max: "100", value: "75"});
      range.addEventListener("input", function () {
        var v = Number(range.value) / 100;
        var prop = {fill: "fill-opacity", circle: "circle-opacity", line: "line-opacity"}[
          map.getLayer(item.mapLayer).type];
        map.setPaintProperty(item.mapLayer, prop, v);
      });
      li.appendChild(range);
      if (entry.times && entry.times.length > 1) {
        var timeId = "time-" + entry.index;
        var shown = el("output", {"for": timeId, id: timeId + "-value"}, item.time);
        li.appendChild(el("label", {"for": timeId}, T.time));
        var slider = el("input", {type: "range", id: timeId, min: "0",
          max: String(entry.times.length - 1), value: String(entry.times.length - 1),
          "aria-describedby": timeId + "-value"});
        slider.addEventListener("input", function () {
          item.time = entry.times[Number(slider.value)];
          shown.textContent = new Date(item.time).toLocaleString(lang === "vi" ? "vi-VN" : "en-GB",
            {timeZone: "Asia/Ho_Chi_Minh"});
          slider.setAttribute("aria-valuetext", shown.textContent);
          map.getSource(item.source).setTiles([sourceFor(entry, item.time).tiles]);
        });
        li.appendChild(slider);
        li.appendChild(shown);
      }
      var off = el("button", {type: "button", "class": "danger"}, T.remove);
      off.addEventListener("click", function () { switchOff(entry); });
      li.appendChild(off);
      activeList.appendChild(li);
    });
  }

  // -- values at a place -------------------------------------------------------------
  function showValues(title, url) {
    info.textContent = "";
    info.appendChild(el("p", {"class": "hint"}, T.loading));
    fetch(url, {headers: {Accept: "application/json"}}).then(function (r) {
      return r.json().then(function (body) { return {ok: r.ok, body: body}; });
    }).then(function (res) {
      info.textContent = "";
      info.appendChild(el("h3", {}, title));
      if (!res.ok) {
        info.appendChild(el("p", {"class": "error"}, say("error", {error: res.body.detail || ""})));
        return;
      }
      var body = res.body;
      if (body.inside_territory === false) { info.appendChild(el("p", {}, T.outside)); }
      if (body.cells) { info.appendChild(el("p", {"class": "hint"}, say("cells", {n: fmt(body.cells)}))); }
      if (body.province_code) { unitButton(body.province_code, T.province); }
      if (body.commune_code) { unitButton(body.commune_code, T.commune); }
      var names = Object.keys(body.layers || {});
      if (!names.length) { info.appendChild(el("p", {}, T.no_values)); return; }
      names.forEach(function (layer) {
        var table = el("table");
        var simulated = Object.keys(body.layers[layer]).some(function (variable) {
          return body.layers[layer][variable].simulated === true;
        });
        table.appendChild(el("caption", {}, layer + (simulated ? " · " + T.simulated : "")));
        var tbody = el("tbody");
        Object.keys(body.layers[layer]).forEach(function (variable) {
          var v = body.layers[layer][variable];
          var tr = el("tr");
          tr.appendChild(el("th", {scope: "row"}, variable));
          tr.appendChild(el("td", {}, (v.value === null ? T.no_data : fmt(v.value))
            + (v.unit && v.unit !== "1" ? " " + v.unit : "")));
          tbody.appendChild(tr);
        });
        table.appendChild(tbody);
        info.appendChild(table);
      });
    }).catch(function (err) {
      info.textContent = "";
      info.appendChild(el("p", {"class": "error"}, say("error", {error: String(err)})));
    });
  }
  function unitButton(code, label) {
    var b = el("button", {type: "button", "class": "copy"}, label + " " + code);
    b.addEventListener("click", function () { showUnit(code); });
    info.appendChild(b);
  }
  function showUnit(code) {
    var name = (provinces[code] || communes[code] || {}).name;
    showValues(say("unit", {id: code}) + (name ? " · " + name : ""),
               fill(root.getAttribute("data-unit"), {code: code}));
  }

  map.on("click", function (e) {
    var ids = Object.keys(active).map(function (k) { return active[k].mapLayer; });
    var hits = ids.length ? map.queryRenderedFeatures(e.point, {layers: ids}) : [];
    var cellHit = hits.find(function (f) { return f.properties && f.properties.h3; });
    if (cellHit) {
      showValues(say("cell", {id: cellHit.properties.h3}),
                 fill(root.getAttribute("data-cell"), {cell: cellHit.properties.h3}));
      return;
    }
    var vectorHit = hits[0];
    if (vectorHit) {
      info.textContent = "";
      info.appendChild(el("h3", {}, say("feature", {layer: vectorHit.sourceLayer})));
      var table = el("table");
      var tbody = el("tbody");
      Object.keys(vectorHit.properties).forEach(function (k) {
        var tr = el("tr");
        tr.appendChild(el("th", {scope: "row"}, k));
        tr.appendChild(el("td", {}, fmt(vectorHit.properties[k])));
        tbody.appendChild(tr);
      });
      table.appendChild(tbody);
      info.appendChild(table);
      return;
    }
    if (map.getZoom() < 6.5 && !provinceSelect.value) {
      var province = map.queryRenderedFeatures(e.point, {layers: ["land"]})[0];
      if (province) { chooseProvince(province.properties.code); return; }
    }
    showValues(e.lngLat.lat.toFixed(4) + ", " + e.lngLat.lng.toFixed(4),
               root.getAttribute("data-point") + "?lat=" + e.lngLat.lat + "&lon=" + e.lngLat.lng);
  });
  map.on("mousemove", function (e) {
    var ids = ["land"].concat(Object.keys(active).map(function (k) { return active[k].mapLayer; }));
    map.getCanvas().style.cursor = map.queryRenderedFeatures(e.point, {layers: ids}).length
      ? "pointer" : "";
  });

  // -- province -> commune drill-down ------------------------------------------------
  function fitTo(bbox) {
    map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], {padding: 30, duration: 600,
                                                             maxZoom: 12});
  }
  function chooseProvince(code) {
    provinceSelect.value = code || "";
    communeSelect.textContent = "";
    map.setFilter("province-selected", ["==", ["get", "code"], code || ""]);
    map.setFilter("commune-lines", ["==", ["get", "province_code"], code || ""]);
    map.setFilter("commune-selected", ["==", ["get", "code"], ""]);
    if (!code) {
      communeSelect.appendChild(el("option", {value: ""}, T.choose_province));
      communeSelect.disabled = true;
      map.fitBounds(VIETNAM, {duration: 600});
      return;
    }
    fitTo(provinces[code].bbox);
    showUnit(code);
    communeSelect.appendChild(el("option", {value: ""}, T.all_communes));
    fetch(fill(root.getAttribute("data-communes"), {code: code})).then(function (r) {
      return r.json();
    }).then(function (rows) {
      (Array.isArray(rows) ? rows : []).forEach(function (c) {
        communes[c.code] = c;
        communeSelect.appendChild(el("option", {value: c.code}, c.full_name || c.name));
      });
      communeSelect.disabled = false;
    });
  }
  provinceSelect.addEventListener("change", function () { chooseProvince(provinceSelect.value); });
  communeSelect.addEventListener("change", function () {
    var code = communeSelect.value;
    map.setFilter("commune-selected", ["==", ["get", "code"], code || ""]);
    if (code) { fitTo(communes[code].bbox); showUnit(code); }
    else if (provinceSelect.value) { chooseProvince(provinceSelect.value); }
  });

  // -- start ---------------------------------------------------------------------------
  fetch(root.getAttribute("data-provinces")).then(function (r) { return r.json(); })
    .then(function (rows) {
      (Array.isArray(rows) ? rows : []).forEach(function (p) {
        provinces[p.code] = p;
        provinceSelect.appendChild(el("option", {value: p.code}, p.full_name || p.name));
      });
    });
  map.on("load", function () {
    fetch(root.getAttribute("data-layers")).then(function (r) { return r.json(); })
      .then(function (body) {
        layers = (body.layers || []).map(function (entry, i) { entry.index = i; return entry; });
        renderList();
        var wanted = root.getAttribute("data-initial-layer");
        var first = wanted && layers.find(function (l) {
          return l.id === wanted || l.collection === wanted;
        });
        if (first) { switchOn(first); renderList(); }
      });
  });
}());
