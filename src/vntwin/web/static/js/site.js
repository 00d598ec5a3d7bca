/* vntwin portal: copy buttons and upload progress. No inline scripts (CSP script-src 'self'). */
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // http:// sites other than localhost have no clipboard API: select and copy instead
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  function setupCopyButtons() {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        var status = button.nextElementSibling;
        if (!source) { return; }
        copyText(source.textContent).then(function () {
          if (status && status.classList.contains("copy-status")) {
            status.textContent = status.getAttribute("data-copied");
            window.setTimeout(function () { status.textContent = ""; }, 3000);
          }
        });
      });
    });
  }

  function showErrors(form, summary, errors) {
    form.querySelectorAll(".field-errors.js").forEach(function (el) { el.remove(); });
    summary.textContent = "";
    var title = document.createElement("h2");
    title.textContent = form.getAttribute("data-error-title");
    var list = document.createElement("ul");
    Object.keys(errors).forEach(function (name) {
      var messages = errors[name].join(" ");
      var item = document.createElement("li");
      item.textContent = messages;
      list.appendChild(item);
      var input = form.querySelector("[name='" + name + "']");
      if (input) {
        var own = document.createElement("ul");
        own.className = "field-errors js";
        own.id = name + "-error";
        var li = document.createElement("li");
        li.textContent = messages;
        own.appendChild(li);
        input.parentNode.insertBefore(own, input);
        input.setAttribute("aria-invalid", "true");
        var described = (input.getAttribute("aria-describedby") || "").split(" ")
          .filter(function (id) { return id && id !== own.id; });
        described.push(own.id);
        input.setAttribute("aria-describedby", described.join(" "));
      }
    });
    summary.appendChild(title);
    summary.appendChild(list);
    summary.classList.remove("hidden");
    summary.focus();
  }

  function setupUploadForm() {
    var form = document.querySelector("form.upload-form");
    if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
    var summary = document.getElementById("upload-errors");
    var wrap = document.getElementById("progress-wrap");
    var bar = document.getElementById("upload-progress");
    var text = document.getElementById("progress-text");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", form.querySelector("[name=csrf_token]").value);
      wrap.classList.remove("hidden");
      bar.value = 0;
      button.disabled = true;
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var percent = Math.floor(100 * e.loaded / e.total);
          bar.value = percent;
          text.textContent = percent + " %";
        }
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300 && body && body.redirect) {
          window.location.assign(body.redirect);
          return;
        }
        button.disabled = false;
        wrap.classList.add("hidden");
        showErrors(form, summary, body && body.errors ? body.errors
          : {upload: [form.getAttribute("data-failed") + " (HTTP " + xhr.status + ")"]});
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        wrap.classList.add("hidden");
        showErrors(form, summary, {upload: [form.getAttribute("data-failed")]});
      });
      xhr.send(data);
    });
  }

  function focusErrorSummary() {
    var summary = document.querySelector(".error-summary:not(.hidden)");
    if (summary) { summary.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupCopyButtons();
    setupUploadForm();
    focusErrorSummary();
  });
}());
