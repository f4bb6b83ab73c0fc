// Bar charts of a survey's results: the data is in <script id="survey-charts"> (JSON, not run).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("survey-charts");
  if (!source || typeof Chart === "undefined") return;
  for (const chart of JSON.parse(source.textContent)) {
    const canvas = document.getElementById(chart.id);
    if (!canvas) continue;
    new Chart(canvas, {
      type: "bar",
      data: { labels: chart.labels, datasets: [{ data: chart.counts, backgroundColor: "#06C755" }] },
      options: {
        indexAxis: chart.labels.length > 6 && chart.labels.length !== 11 ? "y" : "x",
        animation: false,
        plugins: { legend: { display: false } },
        scales: { x: { ticks: { precision: 0 } }, y: { ticks: { precision: 0 } } },
        maintainAspectRatio: false,
      },
    });
  }
});
