// The linter of the project (npm run lint; CI runs it with Prettier's check): ESLint's and
// typescript-eslint's recommended rules for correctness, and no line over 120 characters.
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/portal/screenshots/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // plain JavaScript files run on Node (TypeScript's own checks make no-undef redundant elsewhere)
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
  },
  {
    plugins: { '@stylistic': stylistic },
    rules: {
      // Prettier formats (npm run format); a line it cannot break (a string, a comment) is ours to break
      '@stylistic/max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
);
