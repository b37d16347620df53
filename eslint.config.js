// @ts-check
// Lint configuration: typescript-eslint's type-aware rules over the TypeScript tree (src, machines,
// test, bench), the plain recommended rules over the Node scripts, and eslint-config-prettier last so
// that no rule argues with the formatter (`npm run format`).
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'data/', '.courier/', 'test/opensearch-node/'],
  },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      // The three this configuration is for: a promise nobody awaits or catches, an async function
      // passed where a void callback is expected (an event listener, a timer), and a switch over a
      // union that forgot a member. A `default:` counts as a decision (the inspection bridge drops
      // every XState event type it does not name, on purpose).
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's top-level test() and describe() return promises that the runner itself
          // tracks; awaiting them would only serialize the file. Subtests (t.test) are still checked.
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // The `_` prefix marks a parameter or binding kept on purpose (a callback's fixed signature, the
      // fields split off a JWK by rest destructuring).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // A `let` declared early and assigned once later is how a closure made before the value
      // exists refers to it (and copes with it being unset); that is not a missed `const`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Off: the stores implement async interfaces over synchronous SQLite calls (an `async` method
      // turns a throw into a rejection, which callers rely on), and Fastify hooks and XState
      // `fromPromise` actors are async by contract even when their body does not wait.
      '@typescript-eslint/require-await': 'off',
      // Off: this codebase interpolates numbers, URLSearchParams, a SQL WHERE builder with its own
      // toString(), and arrays into messages on purpose; the bug this rule guards against ("[object
      // Object]" in a string) is caught by no-base-to-string, which stays on.
      '@typescript-eslint/restrict-template-expressions': 'off',
    },
  },
  {
    // Tests read untyped JSON (HTTP answers, OpenSearch documents, log records) and assert on its
    // shape; the assertion is the check, so the `any`-tracking rules would only ask for casts.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The Node scripts and the CLI shim are plain JavaScript outside the TypeScript project.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  prettier,
);
