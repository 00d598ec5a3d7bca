/* The map preview of a dataset page: its layer's vector tiles over the province boundaries. */
(function () {
  "use strict";
  var node = document.getElementById("preview-map");
  if (!node || !window.maplibregl) { return; }
  maplibregl.setWorkerUrl(new URL(node.getAttribute("data-worker"), location.href).href);
  // not new URL(): it would percent-encode the {z}/{x}/{y} of tile templates
  function absolute(path) { return path.charAt(0) === "/" ? location.origin + path : path; }
  var kind = node.getAttribute("data-kind");
  var layer = node.getAttribute("data-layer");
  var overlay = {id: "data", source: "data", "source-layer": layer};
  if (kind === "point") {
    overlay.type = "circle";
    overlay.paint = {"circle-color": "#d7301f", "circle-radius": 3, "circle-stroke-color": "#fff",
                     "circle-stroke-width": 1};
  } else if (kind === "line") {
    overlay.type = "line";
    overlay.paint = {"line-color": "#d7301f", "line-width": 2};
  } else {
    overlay.type = "fill";
    overlay.paint = {"fill-color": "#3b528b", "fill-opacity": 0.5, "fill-outline-color": "#222"};
  }
  var bbox = (node.getAttribute("data-bbox") || "").split(",").map(Number);
  var bounds = bbox.length === 4 && bbox.every(isFinite)
    ? [[bbox[0], bbox[1]], [bbox[2], bbox[3]]] : [[102.1, 8.4], [109.5, 23.4]];
  var map = new maplibregl.Map({
    container: node, bounds: bounds, fitBoundsOptions: {padding: 20},
    attributionControl: false, interactive: true, cooperativeGestures: false,
    style: {version: 8, sources: {
      provinces: {type: "vector", tiles: [absolute(node.getAttribute("data-provinces"))],
        maxzoom: 10},
      data: {type: "vector", tiles: [absolute(node.getAttribute("data-tiles"))],
        maxzoom: 14}
    }, layers: [
      {id: "sea", type: "background", paint: {"background-color": "#dfe9f2"}},
      {id: "land", type: "fill", source: "provinces", "source-layer": "province",
       paint: {"fill-color": "#f6f4ee"}},
      {id: "lines", type: "line", source: "provinces", "source-layer": "province",
       paint: {"line-color": "#55606b", "line-width": 0.8}},
      overlay
    ]}
  });
  map.addControl(new maplibregl.NavigationControl({showCompass: false}), "top-right");
  map.once("idle", function () { node.setAttribute("data-ready", "1"); });
}());
