// ESLint over every TypeScript file of the project, with typescript-eslint's
// type-checked rules (the types come from tsconfig.json through the project
// service). Formatting is Prettier's, not ESLint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // spec/types: consumer files compiled by their own tsconfigs (spec/integration/types.test.ts), mistakes on purpose.
  { ignores: ['dist/', 'docs/api/', 'coverage/', 'bench/results/', 'node_modules/', 'spec/types/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // An abort signal's reason and a caught error are passed on as they are (as only-throw-error allows by default).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `const { gone: _gone, ...rest } = x` drops a key; `_`-named bindings are unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);
