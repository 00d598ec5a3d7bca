/* vntwin operations dashboard: follow /live/events (server-sent events), add new alerts at
   the top of the list and refresh the sensor values, without a reload; a sensor property
   or province first seen after loading gets the server's rendering of the live section,
   and so do changed trends (their sparklines are drawn by the server), at most once a
   minute. The page shows the values as of its loading when this script does not run.
   No inline scripts (CSP). */
(function () {
  "use strict";

  var REFRESH_MS = 2000;
  var TREND_MS = 60000;  // redraw changed trends no more often: it replaces the section

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

    var liveBody = document.getElementById("live-body");

    // Does the page lack a row for something the board has? Rows are drawn only by the
    // server (the page at load, /dashboard/live after), so a property or a province first
    // seen after the page loaded needs the section from the server again.
    function lacksRows(board) {
      return (board.live || []).some(function (ind) {
        var id = ind.key;
        if (!root.querySelector("[data-live='" + id + ":value']")) { return true; }
        return (ind.provinces || []).some(function (p) {
          return !root.querySelector("[data-live-row='" + id + ":" + p.province_code + "']");
        });
      });
    }

    // What a trend's sparkline was drawn from, as the server writes it in data-trend.
    function signature(trend) {
      return (trend || []).map(function (h) { return h.hour + "/" + h.observations; })
        .join(" ");
    }

    // Has a trend changed since the section was drawn (a new hour, new observations)?
    function trendsChanged(board) {
      return (board.live || []).some(function (ind) {
        var drawn = root.querySelector("[data-live-trend='" + ind.key + "']");
        return drawn && drawn.getAttribute("data-trend") !== signature(ind.trend);
      });
    }

    var trendsDrawn = Date.now();
    var trendTimer = null;

    // Redraw for changed trends once the minute since the last drawing is up; until then
    // the values are updated in place, and a refresh is due when the minute is up.
    function trendsDue(board) {
      if (!trendsChanged(board)) { return false; }
      var wait = trendsDrawn + TREND_MS - Date.now();
      if (wait <= 0) { return true; }
      if (!trendTimer) {
        trendTimer = window.setTimeout(function () { trendTimer = null; refresh(); }, wait);
      }
      return false;
    }

    // Swap in the server's rendering of the live section. Focus stays where it was: on the
    // same table (a focusable scroll region), or on the section's heading if it went away.
    function redrawLive() {
      trendsDrawn = Date.now();
      return fetch(liveBody.getAttribute("data-html"), {headers: {"Accept": "text/html"}})
        .then(function (r) {
          if (!r.ok) { throw new Error(String(r.status)); }
          return r.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var active = document.activeElement;
          var focused = active && liveBody.contains(active)
            ? active.getAttribute("aria-labelledby") : null;
          liveBody.replaceChildren.apply(liveBody, Array.prototype.map.call(
            doc.body.childNodes, function (node) { return document.importNode(node, true); }));
          if (focused !== null) {
            var again = focused && liveBody.querySelector("[aria-labelledby='" + focused + "']");
            var heading = document.getElementById("live-title");
            if (again) { again.focus(); } else if (heading) {
              heading.setAttribute("tabindex", "-1");
              heading.focus();
            }
          }
        });
    }

    function update(board) {
      (board.live || []).forEach(function (ind) {
        var id = ind.key;
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
    }

    function refresh() {
      if (refreshing) { return; }
      refreshing = window.setTimeout(function () {
        fetch(root.getAttribute("data-json"), {headers: {"Accept": "application/json"}})
          .then(function (r) { return r.json(); })
          .then(function (board) {
            if (liveBody && (lacksRows(board) || trendsDue(board))) { return redrawLive(); }
            update(board);
          })
          .then(function () {
            refreshing = null;
            root.setAttribute("data-live-refreshed", String(Date.now()));
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
