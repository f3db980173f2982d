// `npm start`: runs the whole pipeline locally on the embedded emulator.
console.log('serverless-datasync local pipeline: not yet available.');
console.log('The core library is in lib/; run `npm test` to exercise it.');
