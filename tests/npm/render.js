// Renders Cucumber JSON reports with multiple-cucumber-html-reporter, as a CI job would:
// node render.js <folder of Cucumber JSON files> <report folder>
const report = require("multiple-cucumber-html-reporter");

const [jsonDir, reportPath] = process.argv.slice(2);
report.generate({ jsonDir, reportPath, disableLog: true, openReportInBrowser: false });
