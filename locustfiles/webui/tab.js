// loadgate's strip at the top of Locust's "loadgate" tab: the current stage, its time
// left, and the links to the last run's report. Locust's own tab table (its rows come
// with /stats/requests) holds the stage x threshold verdicts; a table cell shows text
// only, so this strip is where the links go. Everything is written with textContent:
// no markup from the server is ever parsed.
(() => {
  "use strict";

  const TAB_KEY = "loadgate";
  const STRIP_ID = "loadgate-status";
  const POLL_MS = 2000;
  let live = null;

  const onTab = () =>
    new URLSearchParams(window.location.search).get("tab") === TAB_KEY;

  // The container of the loadgate table: the table with loadgate's verdict column.
  const tableBox = () => {
    const head = document.querySelector('th[data-sortkey="verdict"]');
    return head ? head.closest(".MuiTableContainer-root") || head.closest("table") : null;
  };

  const element = (tag, text, attributes = {}) => {
    const node = document.createElement(tag);
    node.textContent = text;
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    return node;
  };

  const stageLine = (data) => {
    if (data.stage) {
      const s = data.stage;
      const left = Math.ceil(s.time_left_s);
      const where = `stage ${s.name} (${s.index + 1} of ${s.count})`;
      return `Scenario ${data.scenario}: ${where}, ${left} s left`;
    }
    if (data.run && data.run.report !== "running") {
      return `Scenario ${data.scenario}: run ${data.run.run_id} stopped`;
    }
    return `Scenario ${data.scenario}: not started`;
  };

  const reportLine = (run) => {
    const line = element("div", "", { id: "loadgate-report-line" });
    if (!run || run.report === "running") {
      line.textContent = "Report: made when the run stops.";
    } else if (run.report === "writing") {
      line.textContent = "Report: being written...";
    } else if (run.report === "failed") {
      line.textContent = `Report failed: ${run.error}`;
    } else {
      line.append(
        `Report of ${run.run_id} (${run.verdict}): `,
        element("a", "report.html", {
          id: "loadgate-report",
          href: run.report_url,
          target: "_blank",
        }),
        " · ",
        element("a", "summary.json", { id: "loadgate-summary", href: run.summary_url }),
      );
    }
    return line;
  };

  const render = () => {
    let strip = document.getElementById(STRIP_ID);
    const box = onTab() ? tableBox() : null;
    if (!box || !live) {
      if (strip) strip.remove();
      return;
    }
    if (!strip) {
      strip = element("div", "", { id: STRIP_ID, role: "status" });
      strip.style.cssText = "margin: 0 0 12px; font-size: 0.95rem; line-height: 1.6;";
    }
    if (strip.nextSibling !== box) box.parentNode.insertBefore(strip, box);
    // Rebuilt only when the data changes, so that a link is never swapped under a click.
    const data = JSON.stringify([live.scenario, live.stage, live.run]);
    if (strip.dataset.shown !== data) {
      const stage = element("div", stageLine(live), { id: "loadgate-stage" });
      strip.replaceChildren(stage, reportLine(live.run));
      strip.dataset.shown = data;
    }
  };

  const poll = async () => {
    if (onTab()) {
      try {
        const answer = await fetch("./loadgate/live", { credentials: "same-origin" });
        live = answer.ok ? await answer.json() : null;
      } catch (error) {
        live = null;
      }
    }
    render();
  };

  // Opening the tab fetches at once; while it is open, every POLL_MS.
  let wasOnTab = false;
  const watch = () => {
    const now = onTab();
    if (now && !wasOnTab) poll();
    wasOnTab = now;
    render();
  };

  window.setInterval(poll, POLL_MS);
  window.setInterval(watch, 250);
})();
