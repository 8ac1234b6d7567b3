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

  // --- The Make a Payment dialog ------------------------------------------------------------
  function dialogRoot() {
    return document.getElementById("dialog-root");
  }
  function closeDialog() {
    var root = dialogRoot();
    if (root && root.firstElementChild) {
      root.innerHTML = "";
      var opener = document.querySelector("[data-dialog-opener]");
      if (opener) {
        opener.removeAttribute("data-dialog-opener");
        opener.focus();
      }
      return true;
    }
    return false;
  }
  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-dialog-close]");
    if (close && dialogRoot() && dialogRoot().contains(close)) {
      event.preventDefault();
      closeDialog();
    }
    var opener = event.target.closest("[hx-target='#dialog-root']");
    if (opener) opener.setAttribute("data-dialog-opener", "");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    closeMenus(null);
    var panel = document.querySelector("[data-confirm-panel]:not([hidden])");
    if (panel) {
      hideConfirm(panel.closest("form"));
    } else {
      closeDialog();
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var title = document.getElementById("payment-title");
    if (title && dialogRoot() && dialogRoot().contains(title)) title.focus();
    syncEcheckOnly(document);
  });

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

  // --- "Process Payment" asks for confirmation ------------------------------------------------
  function cardBrand(number) {
    if (/^3[47]/.test(number)) return "American Express";
    if (/^4/.test(number)) return "Visa";
    if (/^(5[1-5]|222[1-9]|22[3-9]|2[3-6]|27[01]|2720)/.test(number)) return "Mastercard";
    if (/^(6011|64[4-9]|65)/.test(number)) return "Discover";
    if (/^(30[0-5]|36|3[89])/.test(number)) return "Diners Club";
    if (/^35(2[89]|[3-8])/.test(number)) return "JCB";
    return "Card";
  }
  function methodLabel(form) {
    var chosen = form.querySelector("input[name=method]:checked");
    if (!chosen) return null;
    if (form.hasAttribute("data-method-label") && chosen.value.indexOf("new_") === 0) {
      return form.getAttribute("data-method-label"); // from the hosted fields' masked answer
    }
    if (chosen.value === "new_card") {
      var number = (form.querySelector("[name='card-card_number']") || {}).value || "";
      return cardBrand(number) + " •••• " + number.slice(-4);
    }
    if (chosen.value === "new_bank") {
      var account = (form.querySelector("[name='bank-account_number']") || {}).value || "";
      var type = form.querySelector("[name='bank-account_type']:checked");
      var kind = type && type.value === "savings" ? "Savings" : "Checking";
      return kind + " account •••• " + account.slice(-4);
    }
    return chosen.getAttribute("data-label");
  }
  function hideConfirm(form) {
    if (!form) return;
    // Back to editing: the fields may change, so the next Process Payment makes a new token.
    if (form.hasAttribute("data-hosted-fields") && window.RemitHostedFields) window.RemitHostedFields.forget(form);
    form.querySelector("[data-confirm-panel]").hidden = true;
    form.querySelector("[data-submit-row]").hidden = false;
    form.querySelector("button[type=submit]").focus();
  }
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!form.matches("form[data-confirm]")) {
        var message = form.getAttribute("data-confirm-message");
        if (message && !window.confirm(message)) event.preventDefault();
        return;
      }
      var confirmed = form.querySelector("[data-confirmed]");
      if (confirmed.value === "yes") return; // let htmx (or the browser) send it
      event.preventDefault();
      event.stopImmediatePropagation();
      var token = form.querySelector("[data-payment-token]");
      var picked = form.querySelector("input[name=method]:checked");
      if (token && !token.value && picked && picked.value.indexOf("new_") === 0 && window.RemitHostedFields) {
        window.RemitHostedFields.tokenize(form); // tokenize first; its callback submits again
        return;
      }
      var label = methodLabel(form);
      var text = "Pay " + form.getAttribute("data-amount") + " to " + form.getAttribute("data-provider");
      form.querySelector("[data-confirm-text]").textContent = label ? text + " with " + label + "?" : text + "?";
      form.querySelector("[data-submit-row]").hidden = true;
      var panel = form.querySelector("[data-confirm-panel]");
      panel.hidden = false;
      panel.querySelector("[data-confirm-yes]").focus();
    },
    true
  );
  document.addEventListener("click", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (!form) return;
    if (event.target.closest("[data-confirm-yes]")) {
      form.querySelector("[data-confirmed]").value = "yes";
      form.querySelector("[data-confirm-panel]").hidden = true;
      form.querySelector("[data-submit-row]").hidden = false;
      form.requestSubmit();
    } else if (event.target.closest("[data-confirm-no]")) {
      hideConfirm(form);
    }
  });
  // A refused or failed attempt comes back with confirmed empty again: nothing to reset here.
})();
