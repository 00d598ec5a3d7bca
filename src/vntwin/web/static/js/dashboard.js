/* vntwin operations dashboard: follow /live/events (server-sent events), add new alerts at
   the top of the list and refresh the sensor values, without a reload. The page shows the
   values as of its loading when this script does not run. No inline scripts (CSP). */
(function () {
  "use strict";

  var REFRESH_MS = 2000;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }

  function setup(root) {
    var lang = root.getAttribute("data-lang") || "vi";
    var number = new Intl.NumberFormat(lang, {maximumFractionDigits: 1});
    var when = new Intl.DateTimeFormat(lang, {dateStyle: "short", timeStyle: "short",
                                              timeZone: "Asia/Ho_Chi_Minh"});
    var list = document.getElementById("alert-list");
    var empty = document.getElementById("no-alerts");
    var announcer = document.getElementById("live-announcer");
    var template = document.getElementById("ack-template");
    var refreshing = null;

    function count(id, delta) {
      var el = document.getElementById(id);
      if (el) { el.textContent = Math.max(0, parseInt(el.textContent, 10) + delta); }
    }

    function alertItem(alert) {
      var li = document.createElement("li");
      li.className = "alert severity-" + alert.severity + " new";
      li.setAttribute("data-alert-id", alert.id);
      li.setAttribute("data-state", alert.state);
      var badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = root.getAttribute("data-severity-" + alert.severity) || alert.severity;
      var message = document.createElement("span");
      message.className = "message";
      message.textContent = alert.message;
      var meta = document.createElement("span");
      meta.className = "meta";
      var time = document.createElement("time");
      time.setAttribute("datetime", alert.raised_at);
      time.textContent = when.format(new Date(alert.raised_at));
      var state = document.createElement("span");
      state.className = "state";
      state.textContent = root.getAttribute("data-" + alert.state) || alert.state;
      meta.appendChild(time);
      meta.appendChild(document.createTextNode(" · "));
      meta.appendChild(state);
      li.appendChild(badge);
      li.appendChild(message);
      li.appendChild(meta);
      if (template && alert.state === "open") {
        var form = template.content.firstElementChild.cloneNode(true);
        form.action = form.getAttribute("action").replace(/\/0\/ack$/, "/" + alert.id + "/ack");
        form.querySelector(".visually-hidden").textContent = ": " + alert.message;
        li.appendChild(form);
      }
      return li;
    }

    function onAlert(alert) {
      var existing = list.querySelector("[data-alert-id='" + alert.id + "']");
      if (alert.state === "resolved") {
        if (existing) {
          count(existing.getAttribute("data-state") === "acknowledged" ? "alerts-ack"
                                                                       : "alerts-open", -1);
          existing.remove();
        }
      } else if (existing) {
        var state = existing.querySelector(".state");
        if (state) { state.textContent = root.getAttribute("data-" + alert.state) || alert.state; }
        if (alert.state === "acknowledged") {
          var form = existing.querySelector("form");
          if (form) { form.remove(); }
          existing.setAttribute("data-state", "acknowledged");
          count("alerts-open", -1);
          count("alerts-ack", 1);
        }
      } else {
        list.insertBefore(alertItem(alert), list.firstChild);
        count(alert.state === "open" ? "alerts-open" : "alerts-ack", 1);
        announcer.textContent = fill(root.getAttribute("data-new-alert"),
                                     {message: alert.message});
      }
      empty.classList.toggle("hidden", list.children.length > 0);
    }

    function setText(selector, text) {
      var el = root.querySelector(selector);
      if (el && el.textContent !== text) { el.textContent = text; }
    }

    function refresh() {
      if (refreshing) { return; }
      refreshing = window.setTimeout(function () {
        fetch(root.getAttribute("data-json"), {headers: {"Accept": "application/json"}})
          .then(function (r) { return r.json(); })
          .then(function (board) {
            refreshing = null;
            (board.live || []).forEach(function (ind) {
              var id = ind.observed_property_id;
              setText("[data-live='" + id + ":value']", number.format(ind.value));
              setText("[data-live='" + id + ":sensors']", String(ind.sensors));
              setText("[data-live='" + id + ":min']", number.format(ind.min));
              setText("[data-live='" + id + ":max']", number.format(ind.max));
              var time = root.querySelector("[data-live='" + id + ":valid_time']");
              if (time) {
                time.setAttribute("datetime", ind.valid_time);
                time.textContent = when.format(new Date(ind.valid_time));
              }
              (ind.provinces || []).forEach(function (p) {
                var row = root.querySelector("[data-live-row='" + id + ":" + p.province_code + "']");
                if (!row) { return; }
                row.querySelector("[data-field=mean]").textContent = number.format(p.mean);
                row.querySelector("[data-field=max]").textContent = number.format(p.max);
                row.querySelector("[data-field=sensors]").textContent = String(p.sensors);
              });
            });
          })
          .catch(function () { refreshing = null; });
      }, REFRESH_MS);
    }

    var source = new EventSource(root.getAttribute("data-events"));
    source.addEventListener("alert", function (event) {
      try { onAlert(JSON.parse(event.data)); } catch (err) { /* a malformed event */ }
    });
    source.addEventListener("observations", refresh);
    root.setAttribute("data-live-ready", "true");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("dashboard");
    if (root && window.EventSource && window.fetch) { setup(root); }
  });
}());
