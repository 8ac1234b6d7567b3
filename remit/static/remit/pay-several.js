// Make a Payment for several invoices, partial payments on: a total typed for the lot fills the
// lines oldest due first (the lines come in that order), and a line changed by hand makes the
// total their sum. A convenience only: the server applies a posted total the same way when the
// lines are left as shown, checks every amount again, and asks before charging.
(function () {
  "use strict";

  function cents(text) {
    var t = String(text || "").trim().replace(/[$,\s]/g, "");
    if (!/^\d+(\.\d{1,2})?$/.test(t)) return null;
    var parts = t.split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }
  function plain(c) {
    var frac = String(c % 100);
    return Math.floor(c / 100) + "." + (frac.length < 2 ? "0" + frac : frac);
  }
  function money(c) {
    var parts = plain(c).split(".");
    return "$" + parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + parts[1];
  }

  function setup(form) {
    var lines = Array.prototype.slice.call(form.querySelectorAll("[data-line-amount]"));
    var total = form.querySelector("[data-pay-total]");
    if (!lines.length || !total) return;
    var handEdited = false;
    var box = total.closest(".field");

    function skipOf(line) {
      return line.parentNode.querySelector("[data-skip]");
    }
    function showError(message) {
      var old = box.querySelector("[data-total-error]");
      if (old) old.remove();
      var described = (total.getAttribute("aria-describedby") || "").replace(/\s*id_total_error\b/, "").replace(/\s*id_total_client_error\b/, "");
      box.classList.toggle("field--error", !!message);
      if (!message) {
        total.removeAttribute("aria-invalid");
        total.setAttribute("aria-describedby", described.trim());
        return;
      }
      var list = document.createElement("ul");
      list.className = "errorlist";
      list.id = "id_total_client_error";
      list.setAttribute("data-total-error", "");
      var item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
      box.appendChild(list);
      total.setAttribute("aria-invalid", "true");
      total.setAttribute("aria-describedby", (described + " id_total_client_error").trim());
    }
    function sumOfLines() {
      var sum = 0;
      for (var i = 0; i < lines.length; i++) {
        var c = cents(lines[i].value);
        if (c === null) return null;
        sum += c;
      }
      return sum;
    }
    function showTotal(sum) {
      // What the confirmation asks for, and the figure on the page.
      var text = sum === null ? "" : money(sum);
      form.setAttribute("data-amount", text);
      var shown = form.querySelector("[data-total-text]");
      if (shown && sum !== null) shown.textContent = "Total: " + text;
      var yes = form.querySelector("[data-confirm-yes]");
      if (yes && sum !== null) yes.textContent = "Confirm: pay " + text;
    }
    function spread() {
      if (handEdited) {
        var sum = sumOfLines();
        showError(sum === null ? "" : "The amounts you changed on the lines are paid: " + money(sum) + ".");
        return;
      }
      var wanted = cents(total.value);
      if (wanted === null || wanted === 0) {
        showError("Enter an amount such as 125.00.");
        return;
      }
      var dues = lines.map(function (line) {
        return cents(line.getAttribute("data-due")) || 0;
      });
      var balance = dues.reduce(function (a, b) {
        return a + b;
      }, 0);
      if (wanted > balance) {
        showError("That is more than the selected invoices' balance, " + money(balance) + ".");
        return;
      }
      showError("");
      var left = wanted;
      lines.forEach(function (line, i) {
        var share = Math.min(left, dues[i]);
        left -= share;
        line.value = plain(share);
        var skip = skipOf(line);
        if (skip) skip.value = share === 0 ? "1" : "";
      });
      showTotal(wanted);
    }
    function fromLines(event) {
      handEdited = true;
      var skip = skipOf(event.target);
      if (skip) skip.value = "";
      var sum = sumOfLines();
      showError("");
      if (sum !== null) total.value = plain(sum);
      showTotal(sum);
    }
    total.addEventListener("input", spread);
    lines.forEach(function (line) {
      line.addEventListener("input", fromLines);
    });
  }

  function start() {
    document.querySelectorAll("form[data-pay-several]").forEach(setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
