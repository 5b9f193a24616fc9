// Progressive enhancement only: every page works without this file.
(function () {
  // On a phone the main navigation is one row that scrolls sideways: show the current section.
  var current = document.querySelector(".main-nav a[aria-current=page]");
  if (current && current.parentNode.scrollWidth > current.parentNode.clientWidth) {
    current.parentNode.scrollLeft = current.offsetLeft - current.parentNode.offsetLeft - 16;
  }
  "use strict";
  // Buttons with data-confirm ask before submitting (e.g. rotating the API token).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  // Copy buttons: <button data-copy="#element-id">.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.querySelector(button.dataset.copy);
      if (target && navigator.clipboard) {
        navigator.clipboard.writeText(target.textContent.trim()).then(function () {
          button.textContent = button.dataset.copied || button.textContent;
        });
      }
    });
  });
  // Autosave: a section form marked data-autosave="URL" saves one item when one of its inputs
  // changes (the form's own submit button keeps working without this file).
  function itemFields(li) {
    var data = new URLSearchParams();
    data.append("item", li.dataset.answerItem);
    li.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (field) {
      if ((field.type === "checkbox" || field.type === "radio") && !field.checked) {
        return;
      }
      if (field.type === "file") {
        return;
      }
      data.append(field.name, field.value);
    });
    return data;
  }
  function showProgress(progress) {
    var bar = document.getElementById("answer-progress");
    var text = document.getElementById("answer-progress-text");
    if (!bar || !progress) {
      return;
    }
    bar.max = progress.total;
    bar.value = progress.answered;
    bar.textContent = progress.percent + "%";
    if (text && text.dataset.template) {
      text.textContent = text.dataset.template
        .replace("{answered}", progress.answered).replace("{total}", progress.total);
    }
    // The submit button follows the progress (the server checks again on submit).
    var card = document.getElementById("submit-card");
    if (card) {
      var complete = progress.answered >= progress.total;
      var button = card.querySelector("button[type=submit]");
      var missing = card.querySelector(".help");
      if (button) {
        button.disabled = !complete;
      }
      if (missing) {
        missing.hidden = complete;
      }
    }
  }
  // POST DATA (FormData, with the CSRF token) to URL; resolves to the JSON answer, or to
  // {ok: false, error} when the answer is not JSON. Rejects when the network fails.
  function postForJson(url, data, token) {
    data.append("csrfmiddlewaretoken", token.value);
    return fetch(url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-CSRFToken": token.value, "X-Requested-With": "XMLHttpRequest",
                "Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () {
        return {ok: false, error: response.status + " " + response.statusText};
      });
    });
  }
  // Shows "…" while a request runs.
  function showPending(status, className) {
    if (status) {
      status.hidden = false;
      status.className = className + " small muted";
      status.textContent = "…";
    }
  }
  document.querySelectorAll("form[data-autosave]").forEach(function (form) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    form.addEventListener("change", function (event) {
      var li = event.target.closest("li[data-answer-item]");
      if (event.target.type === "file") {
        return;  // evidence files have their own upload (below)
      }
      if (!li || !token) {
        return;
      }
      var status = li.querySelector(".autosave-status");
      showPending(status, "autosave-status");
      postForJson(form.dataset.autosave, itemFields(li), token).then(function (result) {
        if (status) {
          status.className = "autosave-status small " + (result.ok ? "saved" : "error");
          status.setAttribute("role", result.ok ? "status" : "alert");
          status.textContent = result.ok ? result.message : result.error;
        }
        li.classList.toggle("has-error", !result.ok);
        if (result.ok) {
          showProgress(result.progress);
        }
      }).catch(function () {
        if (status) {
          status.className = "autosave-status small error";
          status.textContent = form.dataset.offline || "";
        }
      });
    });
  });
  // Evidence files: choosing a file uploads it at once (the item's Upload button does the same
  // without this file) and reloads the page at the item, which then shows the stored file.
  document.querySelectorAll("input[type=file][data-evidence-upload]").forEach(function (input) {
    var box = input.closest("[data-evidence-item]");
    var button = box && box.querySelector("[data-evidence-button]");
    var status = box && box.querySelector(".evidence-status");
    var token = input.form && input.form.querySelector("input[name=csrfmiddlewaretoken]");
    if (!token || !window.FormData) {
      return;
    }
    if (button) {
      button.hidden = true;
    }
    input.addEventListener("change", function () {
      if (!input.files || !input.files.length) {
        return;
      }
      var data = new FormData();
      data.append("file", input.files[0]);
      showPending(status, "evidence-status");
      postForJson(input.dataset.evidenceUpload, data, token).then(function (result) {
        if (result.ok) {
          window.location.hash = "item-" + box.dataset.evidenceItem;
          window.location.reload();
          return;
        }
        input.value = "";
        if (status) {
          status.className = "evidence-status small error";
          status.setAttribute("role", "alert");
          status.textContent = result.error;
        }
      }).catch(function () {
        if (status) {
          status.className = "evidence-status small error";
          status.textContent = input.dataset.offline || "";
        }
        if (button) {
          button.hidden = false;
        }
      });
    });
  });
})();
