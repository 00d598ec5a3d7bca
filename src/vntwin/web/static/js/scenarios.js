/* vntwin scenarios page: run a spec in the background and show its progress.
   Without this script the form posts and the server runs the spec in the request.
   No inline scripts (CSP script-src 'self'). */
(function () {
  "use strict";

  var POLL_MS = 1000;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }

  function setup(form) {
    // form.action would be the buttons named "action": read the attribute instead
    var wrap = document.getElementById("run-progress-wrap");
    var bar = document.getElementById("run-progress");
    var status = document.getElementById("run-status");
    var buttons = form.querySelectorAll("button[type=submit]");

    function busy(on) {
      buttons.forEach(function (b) { b.disabled = on; });
      form.setAttribute("aria-busy", on ? "true" : "false");
      wrap.classList.toggle("hidden", !on);
    }

    function fallback() {
      // let the server answer the plain form: it shows errors next to their fields
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "action";
      input.value = "run";
      form.appendChild(input);
      form.submit();
    }

    function failed(view) {
      busy(false);
      var text = form.getAttribute("data-failed") + " ";
      var error = view && view.error;
      if (error && error.errors && error.errors.length) {
        text += error.errors.map(function (e) {
          return (e.line ? e.line + ":" + (e.column || 1) + " " : "") + e.path + ": " + e.message;
        }).join("; ");
      } else if (error) {
        text += error.detail || error;
      }
      status.textContent = text;
    }

    function poll(url) {
      window.setTimeout(function () {
        fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
          .then(function (r) { return r.json(); })
          .then(function (view) {
            if (view.total) {
              bar.max = view.total;
              bar.value = view.done;
              status.textContent = fill(form.getAttribute("data-progress"),
                                        {done: view.done, total: view.total});
            }
            if (view.status === "done") {
              status.textContent = form.getAttribute("data-done");
              window.location.assign(view.page || form.getAttribute("action"));
            } else if (view.status === "failed" || view.error) {
              failed(view);
            } else {
              poll(url);
            }
          })
          .catch(function () { failed(null); });
      }, POLL_MS);
    }

    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (!submitter || submitter.value !== "run" || !window.fetch || !window.FormData) {
        return;  // "check" is a plain form post
      }
      event.preventDefault();
      var data = new FormData(form);
      data.set("action", "run");
      busy(true);
      bar.removeAttribute("value");  // indeterminate until the first report
      status.textContent = form.getAttribute("data-running");
      fetch(form.getAttribute("action"), {method: "POST", body: data, credentials: "same-origin",
                          headers: {"Accept": "application/json"}})
        .then(function (r) {
          if (r.status !== 202) { throw new Error("HTTP " + r.status); }
          return r.json();
        })
        .then(function (body) { poll(body.progress); })
        .catch(fallback);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.scenario-form");
    if (form) { setup(form); }
    var comparison = document.getElementById("comparison");
    if (comparison && window.location.hash === "#comparison") { comparison.focus(); }
  });
}());
