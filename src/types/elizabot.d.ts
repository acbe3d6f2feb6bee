declare module 'elizabot' {
  export default class ElizaBot {
    constructor(noRandom?: boolean);
    transform(input: string): string;
    getInitial(): string;
    getFinal(): string;
    reset(): void;
    quit: boolean;
  }
}
