// ESLint's and typescript-eslint's recommended rules over src/, test/, bench/ and scripts/.
// Not the type-aware set (recommendedTypeChecked): building the TypeScript program costs ~50 s of
// CPU on this 2-core machine, and `npm run typecheck` already type-checks the same files.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'test-output/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // A leading underscore marks a binding kept on purpose (a loop counter, a field dropped by rest destructuring).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    files: ['test/**'],
    rules: {
      // Tests read JSON artifacts and CLI output whose shape the assertions themselves check.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
