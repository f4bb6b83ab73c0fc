// The inquiry report's charts: the data is in <script id="inquiry-charts"> (JSON, not run).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("inquiry-charts");
  if (!source || typeof Chart === "undefined") return;
  const charts = JSON.parse(source.textContent);
  const colours = ["#06C755", "#F59E0B", "#EF4444", "#2563EB"];
  const common = { animation: false, maintainAspectRatio: false, plugins: { legend: { position: "bottom" } } };

  const questions = charts.questions;
  const canvas = document.getElementById("chart-questions");
  if (canvas && questions.labels.length) {
    const bars = questions.series.map((series, n) => ({ ...series, type: "bar", stack: "asked", backgroundColor: colours[n], order: 2 }));
    const line = { ...questions.line, type: "line", borderColor: colours[3], backgroundColor: colours[3], pointRadius: 2, order: 1 };
    new Chart(canvas, {
      data: { labels: questions.labels, datasets: [...bars, line] },
      options: { ...common, scales: { x: { stacked: true, ticks: { autoSkip: true, maxRotation: 0 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  const lines = (id, chart) => {
    const target = document.getElementById(id);
    if (!target || !chart.labels.length) return;
    new Chart(target, {
      type: "line",
      data: {
        labels: chart.labels,
        datasets: chart.series.map((series, n) => ({ ...series, borderColor: colours[n === 0 ? 0 : 1], backgroundColor: colours[n === 0 ? 0 : 1], spanGaps: true, tension: 0.2 })),
      },
      options: { ...common, scales: { y: { beginAtZero: true, title: { display: true, text: chart.unit } } } },
    });
  };
  lines("chart-first-response", charts.first_response);
  lines("chart-resolution", charts.resolution);
});
