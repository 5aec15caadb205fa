// @ts-check
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'client/', 'test-artifacts/', '*.js', '*.mjs'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name=/^(it|describe|test)$/][callee.property.name='only']", message: 'No focused tests.' },
      ],
    },
  },
  {
    // Layering: SQL and the schema live in repositories (and the db/ layer) only.
    files: ['src/**/*.service.ts', 'src/**/*.controller.ts', 'src/**/*.processor.ts', 'src/**/dto/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['drizzle-orm', 'drizzle-orm/*', 'postgres'], message: 'SQL belongs in a *.repository.ts.' },
            { group: ['**/db/schema', '**/db/schema/*'], message: 'The schema is for repositories only.' },
          ],
        },
      ],
    },
  },
  {
    // Only the config module reads the environment.
    files: ['src/**/*.ts'],
    ignores: ['src/config/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through AppConfig.' }],
    },
  },
  {
    // Money figures read back from SQL: a row that must be there is checked (firstRow), not
    // asserted with `!`, and typed rows leave no cast to make (ADR 0026).
    files: ['src/reconciliation/**/*.ts', 'src/reports/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'error' },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
