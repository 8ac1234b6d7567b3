// Small progressive enhancements; every page works without them (see the <noscript> parts).
(function () {
  "use strict";

  // --- Menus: close on Escape or a click elsewhere -------------------------------------------
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest("details.menu"));
  });

  // --- The Make a Payment dialog: a native <dialog>, modal -----------------------------------
  // showModal() makes the page behind inert (Tab stays inside, clicks and screen readers too);
  // Escape fires "cancel". Focus goes back to what opened it, or to the page's heading when a
  // payment replaced that (the invoice refreshes itself).
  function dialogRoot() {
    return document.getElementById("dialog-root");
  }
  function openDialog() {
    return document.querySelector("#dialog-root dialog[open]");
  }
  function returnFocus() {
    var opener = document.querySelector("[data-dialog-opener]");
    if (opener && opener.isConnected) {
      opener.removeAttribute("data-dialog-opener");
      opener.focus();
      return;
    }
    var heading = document.querySelector("#main h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }
  function closeDialog() {
    var dialog = openDialog();
    if (!dialog) return false;
    dialog.close(); // the "close" listener empties the root and returns focus
    return true;
  }
  function focusFirst(scope) {
    var panel = scope.querySelector("[data-confirm-panel]:not([hidden]) [data-confirm-yes]");
    var invalid = scope.querySelector("[aria-invalid=true]");
    var first = scope.querySelector(
      "fieldset.new-method input:not([type=hidden]), input[name=method]:checked, [data-process], .dialog .button"
    );
    var target = panel || invalid || first;
    if (target) target.focus();
  }
  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-dialog-close]");
    if (close && openDialog() && openDialog().contains(close)) {
      event.preventDefault();
      closeDialog();
    }
    var opener = event.target.closest("[hx-target='#dialog-root']");
    if (opener) {
      document.querySelectorAll("[data-dialog-opener]").forEach(function (el) {
        el.removeAttribute("data-dialog-opener");
      });
      opener.setAttribute("data-dialog-opener", "");
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = document.querySelector("details.menu[open]");
    if (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus(); // not lost to <body>
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = dialogRoot();
    var dialog = root && root.querySelector("dialog");
    var opening = dialog && !dialog.open;
    if (opening) {
      dialog.addEventListener("cancel", function (e) {
        // Escape in the confirmation goes back to the form; otherwise it closes the window.
        var form = dialog.querySelector("[data-confirm-panel]:not([hidden])");
        if (form) {
          e.preventDefault();
          hideConfirm(form.closest("form"));
        }
      });
      dialog.addEventListener("close", function () {
        root.innerHTML = "";
        document.documentElement.classList.remove("has-modal");
        returnFocus();
      });
      dialog.showModal();
      document.documentElement.classList.add("has-modal");
    }
    if (opening || (dialog && dialog.contains(event.target))) {
      focusFirst(dialog);
    }
    syncEcheckOnly(document);
  });

  // --- Forms that ask first (Remove a saved method): our own modal, never window.confirm() ----
  var asking = null;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var dialog = document.querySelector("dialog[data-confirm-dialog]");
    if (!form.hasAttribute("data-confirm-message") || !dialog || form === asking) return;
    event.preventDefault();
    asking = null;
    dialog.querySelector("[data-confirm-dialog-text]").textContent = form.getAttribute("data-confirm-message");
    dialog.querySelector("[data-confirm-dialog-yes]").textContent = form.getAttribute("data-confirm-action") || "Confirm";
    dialog.returnTo = event.submitter || form.querySelector("button");
    dialog.form = form;
    dialog.showModal();
    dialog.querySelector("[data-confirm-dialog-no]").focus(); // the safe choice first
  });
  document.addEventListener("click", function (event) {
    var dialog = event.target.closest("dialog[data-confirm-dialog]");
    if (!dialog) return;
    if (event.target.closest("[data-confirm-dialog-yes]")) {
      asking = dialog.form;
      dialog.close();
      asking.requestSubmit();
    } else if (event.target.closest("[data-confirm-dialog-no]")) {
      dialog.close();
    }
  });
  document.addEventListener(
    "close",
    function (event) {
      var dialog = event.target;
      if (dialog.matches && dialog.matches("dialog[data-confirm-dialog]") && !asking && dialog.returnTo) dialog.returnTo.focus();
    },
    true
  );

  // --- Show the eCheck authorization only when an eCheck is chosen -------------------------
  function syncEcheckOnly(scope) {
    scope.querySelectorAll("form[data-confirm]").forEach(function (form) {
      var chosen = form.querySelector("input[name=method]:checked");
      var echeck = chosen && chosen.getAttribute("data-kind") === "echeck";
      form.querySelectorAll("[data-echeck-only]").forEach(function (el) {
        el.hidden = !echeck;
      });
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "method") syncEcheckOnly(document);
  });
  document.addEventListener("DOMContentLoaded", function () {
    syncEcheckOnly(document);
  });

  // --- What the chosen method adds (a card surcharge) or takes off (an eCheck discount) -------
  // The server writes each method's line; choosing a method shows its own.
  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (!radio.matches || !radio.matches("input[type=radio][name=method][data-adjustment]")) return;
    var form = radio.closest("form");
    var line = form && form.querySelector("[data-adjustment-line]");
    if (!line) return;
    line.textContent = radio.getAttribute("data-adjustment");
    line.hidden = !line.textContent;
  });

  // --- Validate, then confirm, then pay -------------------------------------------------------
  // The browser checks our fields first (the server checks them all again); the gateway's hosted
  // fields check themselves when tokenizing. Only then is the payer asked to confirm: by the
  // server for a saved method (its answer names the method), here for a new card or account
  // (named from the hosted fields' masked answer).
  var REQUIRED = "This field is required.";
  function visible(el) {
    return !el.closest("[hidden]") && el.type !== "hidden";
  }
  function clearClientErrors(form) {
    form.querySelectorAll("[data-client-error]").forEach(function (list) {
      var field = form.querySelector("[aria-describedby~='" + list.id + "']");
      if (field) {
        field.removeAttribute("aria-invalid");
        field.removeAttribute("aria-describedby");
      }
      if (list.parentNode) list.parentNode.classList.remove("field--error");
      list.remove();
    });
  }
  function addError(field, message) {
    var box = field.closest(".field") || field.parentNode;
    var list = document.createElement("ul");
    list.className = "errorlist";
    list.id = (field.id || field.name) + "_client_error";
    list.setAttribute("data-client-error", "");
    var item = document.createElement("li");
    item.textContent = message;
    list.appendChild(item);
    box.appendChild(list);
    box.classList.add("field--error");
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", list.id);
  }
  function validate(form) {
    clearClientErrors(form);
    var problems = [];
    form.querySelectorAll("input[required], select[required]").forEach(function (field) {
      if (!visible(field) || field.type === "radio") return;
      if (!String(field.value || "").trim()) problems.push([field, REQUIRED]);
    });
    ["card", "bank"].forEach(function (prefix) {
      var zip = form.querySelector("[name='" + prefix + "-zip']");
      var country = form.querySelector("[name='" + prefix + "-country']");
      if (zip && visible(zip) && zip.value.trim() && country && country.value === "US" && !/^\d{5}(-\d{4})?$/.test(zip.value.trim())) {
        problems.push([zip, "Enter a ZIP code: 5 digits, or 9 as 12345-6789."]);
      }
    });
    var business = form.querySelector("[name='bank-account_holder_type'][value=business]:checked");
    var company = form.querySelector("[name='bank-company']");
    if (business && company && !company.value.trim()) problems.push([company, "Enter the business's name for a business account."]);
    var authorize = form.querySelector("#id_authorize");
    if (authorize && visible(authorize) && !authorize.checked) {
      problems.push([authorize, "Please authorize the debit from your bank account."]);
    }
    problems.forEach(function (p) {
      addError(p[0], p[1]);
    });
    var live = (form.closest(".dialog") || document).querySelector("[data-live]");
    if (live) {
      live.innerHTML = "";
      if (problems.length) {
        var note = document.createElement("p");
        note.className = "banner banner--error";
        note.setAttribute("role", "alert");
        note.textContent = problems.length === 1 ? "Please correct the field marked below." : "Please correct the " + problems.length + " fields marked below.";
        live.appendChild(note);
      }
    }
    if (problems.length) problems[0][0].focus();
    return problems.length === 0;
  }
  function hideConfirm(form) {
    if (!form) return;
    // Back to editing: the fields may change, so the next Process Payment makes a new token.
    if (form.hasAttribute("data-hosted-fields") && window.RemitHostedFields) window.RemitHostedFields.forget(form);
    form.querySelector("[data-confirmed]").value = "";
    form.querySelector("[data-confirm-panel]").hidden = true;
    form.querySelector("[data-submit-row]").hidden = false;
    form.querySelector("button[type=submit][data-process]").focus();
  }
  function showConfirm(form, label) {
    var text = "Pay " + form.getAttribute("data-amount") + " to " + form.getAttribute("data-provider");
    form.querySelector("[data-confirm-text]").textContent = label ? text + " with " + label + "?" : text + "?";
    form.querySelector("[data-submit-row]").hidden = true;
    var panel = form.querySelector("[data-confirm-panel]");
    panel.hidden = false;
    panel.querySelector("[data-confirm-yes]").focus();
  }
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!form.matches("form[data-confirm]")) return;
      var submitter = event.submitter;
      var confirmed = form.querySelector("[data-confirmed]");
      if (submitter && submitter.hasAttribute("data-confirm-no")) {
        event.preventDefault();
        event.stopImmediatePropagation();
        hideConfirm(form);
        return;
      }
      if (submitter && submitter.hasAttribute("data-confirm-yes")) confirmed.value = "yes";
      if (confirmed.value === "yes") return; // let htmx (or the browser) send it
      if (!validate(form)) {
        event.preventDefault();
        event.stopImmediatePropagation();
        return;
      }
      if (!form.hasAttribute("data-hosted-fields")) return; // the server validates, then asks
      var token = form.querySelector("[data-payment-token]");
      if (token && !token.value && window.RemitHostedFields) {
        event.preventDefault();
        event.stopImmediatePropagation();
        window.RemitHostedFields.tokenize(form); // tokenize first; its callback submits again
        return;
      }
      var label = form.getAttribute("data-method-label");
      form.querySelector("[data-method-label-field]").value = label || "";
      // With a card surcharge on, only the server knows what this card adds (its category came
      // with the token): it asks, naming the surcharge.
      if (form.hasAttribute("data-server-confirms")) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      showConfirm(form, label);
    },
    true
  );
  // "Use a different card" (the server asked about a card tokenized before the page was drawn):
  // the question is withdrawn, the token forgotten, the hosted fields shown again.
  document.addEventListener("click", function (event) {
    var other = event.target.closest && event.target.closest("[data-other-method]");
    var form = other && other.closest("form[data-confirm]");
    if (!form) return;
    hideConfirm(form);
    if (window.RemitHostedFields) window.RemitHostedFields.focusEntry(form);
  });
  // Changing anything while the question is shown withdraws the question.
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-confirm]");
    if (form && !form.querySelector("[data-confirm-panel]").hidden) hideConfirm(form);
  });
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-confirm]");
    if (form && !form.querySelector("[data-confirm-panel]").hidden) hideConfirm(form);
  });
  // The first field of a newly opened card or bank form (a page of its own) has the focus.
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-hosted-fields]");
    var asking = form && form.querySelector("[data-confirm-panel]:not([hidden]) [data-confirm-yes]");
    if (asking) {
      asking.focus(); // the server asks (a new card with a surcharge on): its question first
    } else if (form && !document.querySelector("[aria-invalid=true]")) {
      var chosen = form.querySelector("input[name=method]:checked");
      if (chosen) chosen.focus();
    } else if (form) {
      document.querySelector("[aria-invalid=true]").focus();
    }
  });
})();
