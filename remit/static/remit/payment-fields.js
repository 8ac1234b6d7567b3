// The Make a Payment window's hosted fields: the gateway's Collect.js draws the card (or bank)
// inputs as iframes of its own origin; this script binds them to our labels, shows their messages
// next to them, and turns Process Payment into "tokenize, then confirm, then post the token".
// Card and account numbers never pass through this page: only the token and masked display
// values do. Loaded only on the payment page, after Collect.js and remit.js (both deferred).
(function () {
  "use strict";

  var BRANDS = { visa: "Visa", mastercard: "Mastercard", amex: "American Express", discover: "Discover", diners: "Diners Club", jcb: "JCB" };
  var TIMEOUT_MS = 15000;

  function lastFour(masked) {
    var digits = String(masked || "").replace(/\D/g, "");
    return digits.slice(-4);
  }

  // What the confirmation says the payer is paying with (display only; the server stores what
  // the gateway says).
  function methodLabel(kind, response, form) {
    if (kind === "card") {
      var card = response.card || {};
      return (BRANDS[card.type] || "Card") + " •••• " + lastFour(card.number);
    }
    var type = form.querySelector("[name='bank-account_type']:checked");
    var name = type && type.value === "savings" ? "Savings" : "Checking";
    return name + " account •••• " + lastFour((response.check || {}).account);
  }

  function showError(form, field, message) {
    var list = form.querySelector("#error-" + field);
    var box = form.querySelector("[data-hosted-field='" + field + "']");
    if (!list || !box) return;
    list.hidden = !message;
    list.firstElementChild.textContent = message || "";
    box.classList.toggle("field--error", !!message);
  }

  function setBusy(form, busy) {
    var button = form.querySelector("button[type=submit]");
    if (!button) return;
    button.disabled = busy;
    button.classList.toggle("is-busy", busy);
    form.toggleAttribute("data-tokenizing", busy);
  }

  function banner(form, text) {
    var status = form.querySelector("[data-hosted-status]");
    var note = form.querySelector("[data-hosted-note]");
    if (!note && status) {
      note = document.createElement("p");
      note.className = "banner banner--error";
      note.setAttribute("role", "alert");
      note.setAttribute("data-hosted-note", "");
      status.parentNode.insertBefore(note, status);
    }
    if (note) {
      note.textContent = text;
      note.hidden = !text;
    }
  }

  function label(box) {
    // Collect.js gives the iframe no title; screen readers announce this one.
    var iframe = box.querySelector("iframe");
    if (!iframe || iframe.hasAttribute("aria-labelledby")) return;
    var name = box.getAttribute("data-hosted-field");
    iframe.title = box.querySelector(".hosted-input").getAttribute("data-title");
    iframe.setAttribute("aria-labelledby", "label-" + name);
    iframe.setAttribute("aria-describedby", "help-" + name + " error-" + name);
  }

  function setUp(form) {
    var kind = form.getAttribute("data-hosted-fields");
    if (!window.CollectJS) {
      banner(form, "The secure payment fields could not be loaded. Reload the page, or pay with a saved method.");
      return;
    }
    var fields = {};
    form.querySelectorAll("[data-hosted-field]").forEach(function (box) {
      var name = box.getAttribute("data-hosted-field");
      var input = box.querySelector(".hosted-input");
      fields[name] = {
        selector: "#" + input.id,
        title: input.getAttribute("data-title"),
        placeholder: name === "ccexp" ? "MM / YY" : "",
      };
      // Named as soon as Collect.js puts its iframe in, not only once the fields are available:
      // a screen reader (or axe) that reaches the field while it loads hears its name too.
      new MutationObserver(function () { label(box); }).observe(input, { childList: true, subtree: true });
    });
    window.CollectJS.configure({
      variant: "inline",
      paymentType: kind === "card" ? "cc" : "ck",
      fields: fields,
      timeoutDuration: TIMEOUT_MS,
      fieldsAvailableCallback: function () {
        form.querySelectorAll("[data-hosted-field]").forEach(label);
        form.setAttribute("data-hosted-ready", "");
      },
      validationCallback: function (field, valid, message) {
        showError(form, field, valid ? "" : message);
        if (!valid) setBusy(form, false);
      },
      timeoutCallback: function () {
        setBusy(form, false);
        banner(form, "The secure payment fields did not answer in time. Please try again.");
      },
      callback: function (response) {
        setBusy(form, false);
        banner(form, "");
        form.querySelector("[data-payment-token]").value = response.token;
        relayCard(form, kind === "card" ? response.card || {} : {});
        form.setAttribute("data-method-label", methodLabel(kind, response, form));
        form.requestSubmit(); // remit.js now asks for confirmation, then posts the token
      },
    });
  }

  // The gateway's BIN look-up of a new card (its first six digits and credit / debit / prepaid /
  // unknown) goes with the token: the server decides any surcharge from it, and checks after the
  // sale that the gateway's record of the card has the same BIN (docs/pci.md).
  var RELAYED = { hosted_bin: "bin", hosted_category: "category" };

  function relayCard(form, card) {
    Object.keys(RELAYED).forEach(function (name) {
      var input = form.querySelector("input[name='" + name + "']");
      if (!input) {
        input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        form.appendChild(input);
      }
      input.value = card[RELAYED[name]] || "";
    });
  }

  // remit.js calls this when Process Payment is chosen for a new card or account with no token.
  window.RemitHostedFields = {
    tokenize: function (form) {
      if (!window.CollectJS || form.hasAttribute("data-tokenizing")) return;
      banner(form, "");
      setBusy(form, true);
      window.CollectJS.startPaymentRequest();
    },
    forget: function (form) {
      var token = form.querySelector("[data-payment-token]");
      if (token) token.value = "";
      relayCard(form, {});
      form.removeAttribute("data-method-label");
      // A token from before this page was drawn (the server asked about it): the card it stood
      // for is no longer shown, and the fields are there again to enter one.
      var tokenized = form.querySelector("[data-tokenized]");
      if (tokenized) tokenized.remove();
      var entry = form.querySelector("[data-hosted-entry]");
      if (entry) entry.classList.remove("hosted-entry--aside");
    },
    // The first hosted field (its iframe), for "Use a different card".
    focusEntry: function (form) {
      var first = form.querySelector("[data-hosted-entry] iframe");
      if (first) first.focus();
    },
  };

  document.querySelectorAll("form[data-hosted-fields]").forEach(setUp);
})();
