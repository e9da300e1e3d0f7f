"""Fine-tune a tiny GPT-2 with a LoRA adapter under the Hugging Face Trainer, recorded by tracklet
with no tracklet code: `report_to="tracklet"` is all (tracklet's start-up hook registers it).

Run with:  python examples/hf_peft_lora.py   (a few seconds on a CPU; data goes to ./tracklet-runs or TRACKLET_DIR)
Try TRACKLET_LOG_MODEL=checkpoint (checkpoints become model artifacts) or TRACKLET_WATCH=all.
"""

import tempfile

import torch
from peft import LoraConfig, get_peft_model
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

torch.manual_seed(0)
torch.set_num_threads(1)


class RandomTokens(torch.utils.data.Dataset):
    """Stands in for a tokenized corpus: the same random 32-token sequence for each index."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        ids = torch.randint(0, 1000, (32,), generator=torch.Generator().manual_seed(i))
        return {"input_ids": ids, "labels": ids}


base = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=1000, n_positions=64, bos_token_id=0, eos_token_id=0))
model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True, task_type="CAUSAL_LM"))

scratch = tempfile.TemporaryDirectory(prefix="hf-peft-lora-")  # checkpoints: removed after training
args = TrainingArguments(
    output_dir=scratch.name,
    report_to="tracklet",
    run_name="tiny-gpt2-lora",
    max_steps=40,
    learning_rate=2e-3,
    per_device_train_batch_size=8,
    logging_steps=5,
    eval_strategy="steps",
    eval_steps=20,
    save_strategy="steps",
    save_steps=20,
    save_total_limit=1,
    include_num_input_tokens_seen=True,
    use_cpu=True,
    disable_tqdm=True,
)
trainer = Trainer(model=model, args=args, train_dataset=RandomTokens(256), eval_dataset=RandomTokens(32))
trainer.train()
scratch.cleanup()

if __name__ == "__main__":
    import tracklet  # only to show what was recorded

    run = tracklet.Api().runs("huggingface", order="-created_at")[0]
    print(f"\nrecorded {run.name}: trainable {run.config['num_trainable_parameters']:,} of {run.config['num_parameters']:,} parameters")
    print(f"LoRA r={run.config['peft_config']['default']['r']} on {run.config['peft_config']['default']['target_modules']}")
    print(f"last train/loss {run.summary['train/loss']:.4f}, eval/loss {run.summary['eval/loss']:.4f}, "
          f"{run.summary['train/tokens_per_second']:.0f} tokens/s")
