// The independent IAM oracle of the tests: @cloud-copilot/iam-simulate (npm, AGPL-3.0, a dev
// tool pinned in package-lock.json; never part of the package) behind a pipe.
//
// One long-lived process (tests/iam_oracle.py starts it once per test session): each line on
// stdin is a JSON array of simulations (the simulator's `Simulation` objects); each line on
// stdout is a JSON array of answers in the same order, `{"result": "Allowed" |
// "ExplicitlyDenied" | "ImplicitlyDenied"}` or `{"error": "..."}` when the simulator refused the
// input (a policy or request it does not accept).
'use strict';

const readline = require('node:readline');
const { runSimulation } = require('@cloud-copilot/iam-simulate');

async function answer(simulation) {
  try {
    const response = await runSimulation(simulation, { simulationMode: 'Strict' });
    if (response.resultType === 'error') {
      return { error: JSON.stringify(response.errors) };
    }
    if (response.resultType !== 'single') {
      return { error: `not one request: ${response.resultType}` };
    }
    return { result: response.overallResult };
  } catch (failure) {
    return { error: String((failure && failure.stack) || failure) };
  }
}

async function main() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const answers = [];
    for (const simulation of JSON.parse(line)) {
      answers.push(await answer(simulation));
    }
    process.stdout.write(`${JSON.stringify(answers)}\n`);
  }
}

main().catch((failure) => {
  process.stderr.write(`${(failure && failure.stack) || failure}\n`);
  process.exit(1);
});
