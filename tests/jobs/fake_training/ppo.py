from .recipe import main

if __name__ == "__main__":
    main("ppo")
